/** Loading, error and empty states, the same on every page. */
import type { ComponentChildren } from 'preact';
import type { ApiError } from '../api';

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

/** An API error as the server said it: message, code and (for a 429) when to try again. */
export function ErrorBox({ error, title }: { error: ApiError; title?: string }) {
  return (
    <div class="error-box" role="alert">
      <strong>{title ?? 'Error'}:</strong> {error.message}{' '}
      <span class="muted">
        ({error.code}
        {error.status ? `, HTTP ${error.status}` : ''}
        {error.field ? `, field ${error.field}` : ''})
      </span>
      {error.retryAfter ? <span> Try again in {error.retryAfter} s.</span> : null}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}
