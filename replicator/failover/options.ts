/** What `tandem failover` (and the tests, and the benchmark) pass to the orchestration. */
import type { SiteEntry } from '../../server/config/schema.js';
import type { Logger } from '../../server/log.js';
import type { StepRecord } from './runner.js';

export interface FailoverOptions {
  sites: Record<string, SiteEntry>;
  /** The site to promote. */
  to: string;
  /** The current active site (default: found from the sites' roles, or the running journal). */
  from?: string;
  /** Forced failover: the current active site is unreachable. */
  force?: boolean;
  /** Print the plan and the checks, change nothing. */
  dryRun?: boolean;
  /** Planned switchover: make the old active a passive of the new one, replication set up from the switch point. */
  reverse?: boolean;
  /** Undo a planned switchover that was interrupted before the promotion. */
  abort?: boolean;
  drainTimeoutMs: number;
  catchUpTimeoutMs: number;
  sequenceMargin: number;
  /** Replicated schemas (replication.schemas). */
  schemas: string[];
  /** Publication name (replication.publication), for --reverse. */
  publication: string;
  /** Who runs it (audit log). */
  actor: string;
  out: (line: string) => void;
  /** The command line of `tandem ARGS` as the user can run it next (server/cli/printed-command.ts); default `tandem ARGS`. */
  command?: (args: string) => string;
  log: Logger;
  signal?: AbortSignal;
  /** Tests: stop right after this step, as if the process died there. */
  failAfter?: string;
}

/** `tandem ARGS`, for callers that do not know how the user runs tandem. */
export const defaultCommand = (args: string): string => `tandem ${args}`;

export interface FailoverResult {
  outcome: 'done' | 'already_active' | 'dry_run' | 'undone';
  kind: 'switchover' | 'forced';
  from: string;
  to: string;
  newEpoch: number | null;
  steps: StepRecord[];
  /** Planned switchover: the source's WAL position after fencing (everything before it reached the target). */
  drainLsn?: string;
  /** Forced failover: the last source commit applied at the target; anything later is lost. */
  dataLossBound?: { lsn: string; commitTime: string | null };
}
