/**
 * `tandem members [--json]`, `tandem members enable|disable NAME|--site`:
 * the Cluster Manager from the command line, straight on this site's
 * database (like `tandem token`: whoever can reach the database is trusted;
 * changes are audited as cli:USER).
 */
import pg from 'pg';
import { requireKeys } from '../config/load.js';
import { TandemError } from '../errors.js';
import { changeExecutionMode, membersReport, type MembersReport } from '../cluster/manager.js';
import type { Command, CommandContext } from './command.js';
import { SQLSTATE, sqlstateOf } from '../db/sqlstate.js';

async function withPool<T>(ctx: CommandContext, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const cfg = ctx.config();
  requireKeys(cfg, ['database.url']);
  const pool = new pg.Pool({ connectionString: cfg.database.url, max: 1, application_name: 'tandem-members' });
  try {
    return await fn(pool);
  } catch (e) {
    if (sqlstateOf(e) === SQLSTATE.UNDEFINED_TABLE)
      throw new TandemError('bad_request', 'the database has no cluster tables yet: run "tandem migrate" first');
    throw e;
  } finally {
    await pool.end();
  }
}

function operator(): string {
  return `cli:${process.env.USER ?? process.env.LOGNAME ?? 'unknown'}`;
}

function seconds(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m`;
  return `${Math.floor(ms / 3_600_000)}h${Math.floor((ms % 3_600_000) / 60_000)}m`;
}

export function formatMembersTable(r: MembersReport): string[] {
  const header = ['NAME', 'STATE', 'HEARTBEAT', 'EXECUTIONS', 'RUNNING', 'LOAD', 'SCHEDULER', 'UPTIME', 'VERSION', 'TAGS', 'URL'];
  const body = r.members.map((m) => [
    m.name,
    m.state,
    `${seconds(m.heartbeatAgeMs)} ago`,
    m.executionMode === 'active' ? 'enabled' : 'disabled',
    String(m.runningExecutions),
    `${Math.round(m.load * 100)}%`,
    m.scheduler ? 'on' : 'off',
    m.state === 'active' || m.state === 'inactive' ? seconds(m.uptimeMs) : '-',
    m.version,
    m.tags.join(',') || '-',
    m.url,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const counts = Object.entries(r.counts).map(([s, n]) => `${n} ${s}`).join(', ');
  const site = r.site.name === null ? '' : `; site ${r.site.name} is ${r.site.role}${r.site.role !== 'active' && r.site.activeUrl ? ` (active site: ${r.site.activeUrl})` : ''}`;
  const out = [line(header), ...body.map(line), `members: ${counts}; site executions ${r.siteExecutionMode === 'active' ? 'enabled' : 'DISABLED'}${site}`];
  return out;
}

export const membersCommand: Command = {
  help: `
Usage: tandem members [--json] [--database-url URL | --config FILE]

Lists the job-server members of this site (one database): state (active,
inactive, dead, stopped, judged on the database's clock), age of the last
heartbeat, execution mode (enabled/disabled), running executions, load
(running / capacity), scheduler on/off, uptime, version, tags and URL; the
last line names the site and its role (members of a passive site take no runs
and fire no schedules).

Flags:
  --json               one JSON document instead of the table
  --database-url URL   PostgreSQL URL (or TANDEM_DATABASE_URL, or database.url in the config)

Example:
  tandem members --database-url postgres://tandem@127.0.0.1:5432/tandem
`,
  flags: { json: { type: 'boolean' } },
  configFlags: { 'database-url': 'database.url' },
  async run(ctx) {
    const cfg = ctx.config();
    const r = await withPool(ctx, (pool) => membersReport(pool, { inactiveAfterMs: cfg.cluster.inactiveAfter, deadAfterMs: cfg.cluster.deadAfter }));
    if (ctx.values.json) ctx.out(JSON.stringify(r, null, 2));
    else for (const l of formatMembersTable(r)) ctx.out(l);
  },
};

function modeCommand(action: 'enable' | 'disable'): Command {
  const mode = action === 'enable' ? ('active' as const) : ('passive' as const);
  return {
    help: `
Usage: tandem members ${action} NAME [--database-url URL | --config FILE]
       tandem members ${action} --site [--database-url URL | --config FILE]

${action === 'enable'
  ? 'Puts member NAME (or, with --site, the whole site) back in execution mode\nactive: it takes new executions and fires schedules again.'
  : 'Puts member NAME (or, with --site, the whole site) in execution mode passive,\nfor maintenance: it takes no new executions and fires no schedules from its\nnext heartbeat on; executions running there finish.'}
The change is audited (user cli:$USER).

Flags:
  --site               the whole site instead of one member
  --database-url URL   PostgreSQL URL (or TANDEM_DATABASE_URL, or database.url in the config)

Examples:
  tandem members ${action} tandem-2 --database-url postgres://tandem@127.0.0.1:5432/tandem
  tandem members ${action} --site --config /etc/tandem/tandem.yaml
`,
    flags: { site: { type: 'boolean' } },
    configFlags: { 'database-url': 'database.url' },
    allowPositionals: true,
    async run(ctx) {
      const site = ctx.values.site === true;
      const name = ctx.positionals[0];
      if (site === (name !== undefined) || ctx.positionals.length > 1)
        throw new TandemError('usage', `name one member, or --site (see tandem members ${action} --help)`);
      await withPool(ctx, (pool) => changeExecutionMode(pool, ctx.log, { member: name, mode, by: operator(), via: 'cli' }));
      ctx.out(`${site ? 'site' : `member ${name}`}: executions ${action}d (execution mode ${mode})`);
    },
  };
}

export const membersEnableCommand = modeCommand('enable');
export const membersDisableCommand = modeCommand('disable');
