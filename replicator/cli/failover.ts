/** `tandem failover --to SITE`: planned switchover, or forced failover with --force. */
import { requireKeys } from '../../server/config/load.js';
import { EXIT_CODES, TandemError } from '../../server/errors.js';
import { runFailover } from '../failover/index.js';
import type { Command } from '../../server/cli/command.js';
import { tandemCommand } from '../../server/cli/printed-command.js';

export const failoverCommand: Command = {
  help: `
Usage: tandem failover --to SITE [--force] [--reverse] [--drain-timeout D]
                       [--catch-up-timeout D] [--dry-run] [--abort] [--from SITE] --config FILE

Planned switchover (the active site is reachable; nothing is lost):
  1 drain       the active site starts nothing new; running executions get
                --drain-timeout to finish, then are aborted and recorded
  2 fence       the old active site takes no writes (database read-only)
  3 drain point its WAL position after fencing, marked by a replicated row
  4 catch up    wait until SITE applied everything up to the drain point and
                its log object backlog is empty
  5 sequences   copy sequence values
  6 reverse     (--reverse) replication SITE → old active prepared from the
                switch point; the old active becomes passive
  7 promote     SITE becomes active with a new epoch
Interrupted at any step (Ctrl-C, crash, lost connection), run the same
command again: it completes the switch. --abort instead undoes a switchover
that stopped before the promotion. Two sites are never active at once: the
old active is fenced before SITE is promoted.

Forced failover (--force; the active site is unreachable):
  SITE is promoted with a new epoch; every sequence moves past the largest
  value in its column plus failover.sequenceMargin; the last source commit
  SITE applied (LSN and time) is printed as the data-loss bound and recorded
  in the audit log. Refused while another site is reachable and active.
  When the old active site comes back, its job servers find the higher epoch
  and fence it; rebuild it with "tandem rejoin". Every unreachable site is
  recorded at SITE as presumed lost. On a SITE that is already active, only
  that is done: its job servers then claim active without waiting for those
  sites (after SITE's database restarted while they were down).

Every step is printed with its duration. --dry-run prints the plan and the
checks and changes nothing. The configuration must list every site (sites:).

Flags:
  --to SITE               the site to promote
  --from SITE             the current active site (default: found from the sites' roles)
  --force                 forced failover (the active site is lost)
  --reverse               planned: make the old active a passive of SITE
  --drain-timeout D       planned: time running executions get (default 60s)
  --catch-up-timeout D    planned: time SITE gets to apply up to the drain point (default 2m)
  --dry-run               print the plan and the checks only
  --abort                 undo an interrupted planned switchover (before promotion)

Examples:
  tandem failover --config /etc/tandem/tandem.yaml --to b --dry-run
  tandem failover --config /etc/tandem/tandem.yaml --to b --reverse --drain-timeout 5m
  tandem failover --config /etc/tandem/tandem.yaml --to b --force
`,
  flags: {
    to: { type: 'string' },
    from: { type: 'string' },
    force: { type: 'boolean' },
    reverse: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    abort: { type: 'boolean' },
  },
  configFlags: { 'drain-timeout': 'failover.drainTimeout', 'catch-up-timeout': 'failover.catchUpTimeout' },
  async run(ctx) {
    const to = ctx.values.to as string | undefined;
    if (!to) throw new TandemError('usage', '--to SITE is required');
    const cfg = ctx.config();
    requireKeys(cfg, ['sites']);
    const res = await runFailover({
      sites: cfg.sites!,
      to,
      from: ctx.values.from as string | undefined,
      force: !!ctx.values.force,
      reverse: !!ctx.values.reverse,
      dryRun: !!ctx.values['dry-run'],
      abort: !!ctx.values.abort,
      drainTimeoutMs: cfg.failover.drainTimeout,
      catchUpTimeoutMs: cfg.failover.catchUpTimeout,
      sequenceMargin: cfg.failover.sequenceMargin,
      schemas: cfg.replication.schemas,
      publication: cfg.replication.publication,
      actor: `cli:${process.env.USER ?? process.env.LOGNAME ?? 'unknown'}`,
      out: ctx.out,
      command: tandemCommand(ctx.values.config as string | undefined),
      log: ctx.log,
      signal: ctx.signal,
    });
    return res.outcome === 'done' || res.outcome === 'already_active' || res.outcome === 'dry_run' || res.outcome === 'undone' ? EXIT_CODES.ok : EXIT_CODES.failed;
  },
};
