/** `tandem rejoin --site OLD --from NEW`: rebuild an old active site as a passive of the new one. */
import { requireKeys } from '../../server/config/load.js';
import { TandemError } from '../../server/errors.js';
import { rejoin } from '../failover/index.js';
import type { Command } from '../../server/cli/command.js';

export const rejoinCommand: Command = {
  help: `
Usage: tandem rejoin --site OLD --from NEW [--follow] [--dry-run] --config FILE

After a failover the old active site OLD is fenced (it found NEW's higher
epoch). rejoin makes OLD passive (read-only, nothing scheduled), drops its
stale replication slot, and rebuilds its replicated tables from a new
snapshot of NEW (the replicator's --resync): whatever OLD committed after the
failover's data-loss bound is discarded. Without --follow it stops once OLD
has caught up; then run the replicator at OLD (source NEW) as usual.

Flags:
  --site OLD    the site to rebuild
  --from NEW    the active site it will follow
  --follow      keep streaming after the copy, until Ctrl-C
  --dry-run     print what would be done

Example:
  tandem rejoin --config /etc/tandem/tandem.yaml --site a --from b
`,
  flags: { site: { type: 'string' }, from: { type: 'string' }, follow: { type: 'boolean' }, 'dry-run': { type: 'boolean' } },
  async run(ctx) {
    const site = ctx.values.site as string | undefined;
    const from = ctx.values.from as string | undefined;
    if (!site || !from) throw new TandemError('usage', '--site OLD and --from NEW are required');
    const cfg = ctx.config();
    requireKeys(cfg, ['sites']);
    await rejoin({
      sites: cfg.sites!,
      site,
      from,
      schemas: cfg.replication.schemas,
      publication: cfg.replication.publication,
      follow: !!ctx.values.follow,
      dryRun: !!ctx.values['dry-run'],
      out: ctx.out,
      log: ctx.log,
      signal: ctx.signal,
    });
  },
};
