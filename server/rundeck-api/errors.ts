/**
 * Rundeck's error shape, `{error: true, errorCode, message, apiversion}`,
 * made from Tandem's one error type. Routes of this adapter throw
 * TandemErrors like every other route; the edge (edge.ts) rewrites the
 * `{error:{code,message}}` body that Tandem's error middleware produced. A
 * route that needs one of Rundeck's specific codes passes it as
 * `details.rundeckCode` (see `rundeckError`), which never reaches a client as
 * such.
 */
import { TandemError, type ErrorCode } from '../errors.js';

/** Rundeck's error code (and status where it differs from Tandem's) for each of Tandem's codes. */
const CODES: Partial<Record<ErrorCode, { errorCode: string; status?: number }>> = {
  bad_request: { errorCode: 'api.error.invalid.request' },
  invalid_config: { errorCode: 'api.error.invalid.request' },
  invalid_yaml: { errorCode: 'api.error.jobs.import.invalid' },
  invalid_cron: { errorCode: 'api.error.jobs.import.invalid' },
  invalid_option: { errorCode: 'api.error.job.options-invalid' },
  validation_failed: { errorCode: 'api.error.invalid.request' },
  usage: { errorCode: 'api.error.invalid.request' },
  // Rundeck answers a missing or bad token with 403 and the code "unauthorized" (not 401).
  unauthorized: { errorCode: 'unauthorized', status: 403 },
  forbidden: { errorCode: 'api.error.item.unauthorized' },
  csrf_failed: { errorCode: 'api.error.item.unauthorized' },
  not_found: { errorCode: 'api.error.item.doesnotexist' },
  conflict: { errorCode: 'api.error.execution.conflict' },
  payload_too_large: { errorCode: 'api.error.invalid.request' },
  unsupported_media_type: { errorCode: 'api.error.jobs.import.wrong-contenttype' },
  too_many_requests: { errorCode: 'api.error.invalid.request' },
  // Rundeck has no sites; a passive Rundeck (execution mode) refuses runs as "execution failed".
  site_passive: { errorCode: 'api.error.execution.failed' },
  unavailable: { errorCode: 'api.error.unknown' },
};

export interface RundeckErrorBody {
  error: true;
  errorCode: string;
  message: string;
  apiversion: number;
}

/** A TandemError that answers with one of Rundeck's own error codes. */
export function rundeckError(code: ErrorCode, rundeckCode: string, message: string, opts: { status?: number } = {}): TandemError {
  return new TandemError(code, message, { status: opts.status, details: { rundeckCode } });
}

/**
 * Rewrite a Tandem error answer (`{error:{code,message,...}}`) into Rundeck's
 * shape; returns the status to answer with.
 */
export function toRundeckError(status: number, body: { error: Record<string, unknown> }, apiversion: number): { status: number; body: RundeckErrorBody } {
  const code = body.error.code as ErrorCode | 'method_not_allowed' | undefined;
  const mapped = code && code !== 'method_not_allowed' ? CODES[code] : undefined;
  const given = typeof body.error.rundeckCode === 'string' ? body.error.rundeckCode : undefined;
  const errorCode = given ?? mapped?.errorCode ?? (status === 405 ? 'api.error.invalid.request' : 'api.error.unknown');
  return {
    status: given ? status : (mapped?.status ?? status),
    body: { error: true, errorCode, message: String(body.error.message ?? 'error'), apiversion },
  };
}
