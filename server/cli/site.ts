/** `tandem site init`: give this site's database its name, role and epoch. */
import { requireKeys } from '../config/load.js';
import { TandemError } from '../errors.js';
import { initSiteState } from '../site/init.js';
import type { Command } from './command.js';

export const siteInitCommand: Command = {
  help: `
Usage: tandem site init --name NAME --role active|passive [--config FILE] [--database-url URL]

Stores, in schema tandem_site of the site's database (never replicated), the
site's name, its role and its epoch (active: 1, passive: 0). A passive
site's database then defaults to read-only transactions for the application,
and its job servers serve reads only. Run it once per site after
"tandem migrate"; running it again with the same name and role changes
nothing. Roles change afterwards only through "tandem failover" and
"tandem rejoin".

The database is database.url, or sites.NAME.databaseUrl when the
configuration lists the sites.

Flags:
  --name NAME          this site's name (a key of "sites" in the configuration)
  --role ROLE          active (the one site taking writes) or passive
  --database-url URL   PostgreSQL URL of this site's database

Example:
  tandem site init --config /etc/tandem/tandem.yaml --name b --role passive
`,
  flags: { name: { type: 'string' }, role: { type: 'string' } },
  configFlags: { 'database-url': 'database.url' },
  async run(ctx) {
    const name = ctx.values.name as string | undefined;
    const role = ctx.values.role as string | undefined;
    if (!name) throw new TandemError('usage', '--name is required');
    if (role !== 'active' && role !== 'passive') throw new TandemError('usage', '--role must be active or passive');
    const cfg = ctx.config();
    const entry = cfg.sites?.[name];
    const databaseUrl = (ctx.values['database-url'] as string | undefined) ? cfg.database.url : (entry?.databaseUrl ?? cfg.database.url);
    if (!databaseUrl) requireKeys(cfg, ['database.url']);
    // A passive site learns which site is active from its peers (its job server's site monitor).
    const active = role === 'active' ? { site: name, url: entry?.url ?? null } : { site: null, url: null };
    const { row, created } = await initSiteState({ databaseUrl: databaseUrl!, name, role, activeSite: active.site, activeUrl: active.url });
    ctx.out(`${created ? 'initialised' : 'already initialised'}: site ${row.name}, role ${row.role}, epoch ${row.epoch}${row.role !== 'active' ? ' (database read-only by default for the application)' : ''}`);
  },
};
