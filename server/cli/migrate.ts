import { requireKeys } from '../config/load.js';
import { migrate } from '../db/migrate.js';
import type { Command } from './command.js';

export const migrateCommand: Command = {
  help: `
Usage: tandem migrate [--database-url URL] [--config FILE]

Applies every numbered file of sql/ that the database has not seen yet, each
in its own transaction, under an advisory lock (several members may run it at
once). A file changed after it was applied is refused.

Flags:
  --database-url URL   PostgreSQL URL (or TANDEM_DATABASE_URL, or database.url in the config)
  --config FILE        configuration file (default: tandem.yaml if present)

Example:
  tandem migrate --database-url postgres://tandem:secret@127.0.0.1:5432/tandem
`,
  configFlags: { 'database-url': 'database.url' },
  async run(ctx) {
    const cfg = ctx.config();
    requireKeys(cfg, ['database.url']);
    const res = await migrate(cfg.database.url!, { log: ctx.log });
    ctx.out(
      res.applied.length
        ? `applied ${res.applied.length} migration(s): ${res.applied.join(', ')} (${res.alreadyApplied} already applied)`
        : `database is up to date (${res.alreadyApplied} migration(s) applied)`,
    );
  },
};
