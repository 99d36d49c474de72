/**
 * Load one API resource for a page: `{data, error, loading, reload}`. A change
 * of `path` (or unmounting the page) aborts the request still under way, so a
 * slow answer for an old filter never overwrites the new one.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';
import { useSession } from './session';

export type FetchState<T> =
  | { state: 'loading'; data?: undefined; error?: undefined }
  | { state: 'ok'; data: T; error?: undefined }
  | { state: 'error'; data?: undefined; error: ApiError };

export function useFetch<T>(path: string | null): FetchState<T> & { reload: () => void } {
  const { api } = useSession();
  const [result, setResult] = useState<FetchState<T>>({ state: 'loading' });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (path === null) return;
    const abort = new AbortController();
    setResult((r) => (r.state === 'ok' ? r : { state: 'loading' }));
    api.get<T>(path, abort.signal).then(
      (data) => setResult({ state: 'ok', data }),
      (e: unknown) => {
        if (abort.signal.aborted) return;
        setResult({ state: 'error', error: e instanceof ApiError ? e : new ApiError(0, 'network', e instanceof Error ? e.message : String(e)) });
      },
    );
    return () => abort.abort();
  }, [path, generation, api]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { ...result, reload };
}
