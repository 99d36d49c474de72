/**
 * One error type for the whole product. Every failure a user can cause or see
 * carries a stable machine-readable `code`; HTTP handlers turn it into
 * `{error:{code,message,field?}}` with `status`, the CLI prints `message` and
 * exits with `exitCode`. Both tables (HTTP status by error code, exit codes)
 * are below and documented in server/README.md "Errors".
 */
export type ErrorCode =
  | 'bad_request'
  | 'invalid_config'
  | 'invalid_yaml'
  | 'invalid_cron'
  | 'invalid_option'
  | 'validation_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'csrf_failed'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'illegal_transition'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'too_many_requests'
  | 'site_passive'
  | 'unavailable'
  | 'outcome_unknown'
  | 'migration_checksum_mismatch'
  | 'replication_setup'
  | 'replication_apply'
  | 'replication_slot_lost'
  | 'log_replication_failed'
  | 'member_fenced'
  | 'usage'
  | 'internal';

/** HTTP status of each error code (a TandemError may override it). */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = Object.freeze({
  bad_request: 400,
  invalid_config: 400,
  invalid_yaml: 400,
  invalid_cron: 400,
  invalid_option: 400,
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  csrf_failed: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  // A state change that the state's transition table does not allow (server/state-machine.ts).
  illegal_transition: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  too_many_requests: 429,
  site_passive: 503,
  unavailable: 503,
  // Not 503: a 503 from Tandem always means nothing was done, and load balancers retry 503s (deploy/README.md).
  outcome_unknown: 500,
  migration_checksum_mismatch: 500,
  replication_setup: 500,
  replication_apply: 500,
  replication_slot_lost: 500,
  // A passive site's copy of a log object never matched its record: the site cannot serve that log (502: its upstream, the active site's store, gave bad bytes).
  log_replication_failed: 502,
  // This member incarnation was declared dead and its executions recovered by another member: it may not write them.
  member_fenced: 503,
  usage: 400,
  internal: 500,
});

/**
 * Exit status of every `tandem` command: the one table, used by the CLI
 * (server/cli/main.ts), the failover runner and the replicator.
 */
export const EXIT_CODES = Object.freeze({
  /** The command did what it was asked (a replicator stopped by a signal too). */
  ok: 0,
  /** It failed, or a check it ran found a problem (status, config check, acl validate). */
  failed: 1,
  /** Bad flags or arguments (unknown flag, missing value, an option that names nothing). */
  usage: 2,
  /** Set-up refused: the replicator's source, target or metrics listener are not as it needs. */
  setup: 3,
  /** A replicated change could not be applied to the target. */
  apply: 4,
  /** The replication slot is gone: run again with --resync. */
  slotLost: 5,
  /** Interrupted by SIGINT/SIGTERM before it finished (128 + SIGINT). */
  interrupted: 130,
} as const);

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** Exit status of an error code when its TandemError names none (everything else: failed). */
const defaultExit: Partial<Record<ErrorCode, ExitCode>> = {
  usage: EXIT_CODES.usage,
  invalid_option: EXIT_CODES.usage,
  replication_setup: EXIT_CODES.setup,
  replication_apply: EXIT_CODES.apply,
  replication_slot_lost: EXIT_CODES.slotLost,
};

export interface TandemErrorOptions {
  field?: string;
  status?: number;
  /** Extra JSON-safe details included in the HTTP error body (never secrets). */
  details?: Record<string, unknown>;
  cause?: unknown;
  /** Process exit code when this error ends a CLI command (default: by code, see defaultExit). */
  exitCode?: ExitCode;
}

export class TandemError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly field?: string;
  readonly details?: Record<string, unknown>;
  readonly exitCode: ExitCode;

  constructor(code: ErrorCode, message: string, opts: TandemErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'TandemError';
    this.code = code;
    this.status = opts.status ?? ERROR_STATUS[code];
    this.field = opts.field;
    this.details = opts.details;
    this.exitCode = opts.exitCode ?? defaultExit[code] ?? EXIT_CODES.failed;
  }

  toJSON(): { error: Record<string, unknown> } {
    const error: Record<string, unknown> = { code: this.code, message: this.message };
    if (this.field !== undefined) error.field = this.field;
    if (this.details) Object.assign(error, this.details);
    return { error };
  }
}

export function isTandemError(e: unknown): e is TandemError {
  return e instanceof TandemError;
}

/** Message of any thrown value, for logs and CLI output. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
