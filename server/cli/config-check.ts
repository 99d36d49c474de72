/**
 * `tandem config check`: validates a site's configuration and tries
 * everything it points at (the database, each LDAP server with the service
 * account, the log bucket or directory, every site's database and URL) so
 * that an operator can test a deployment before starting or cutting over.
 * One line per item as it completes; exit 1 if any item failed.
 */
import { existsSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { EXIT_CODES, TandemError, errorMessage } from '../errors.js';
import { parseDuration } from '../config/fields.js';
import type { Command } from './command.js';
import { checkDatabase } from './config-check/database.js';
import { ldapChecks } from './config-check/ldap.js';
import { logStoreChecks } from './config-check/log-store.js';
import type { Check, CheckResult } from './config-check/result.js';
import { siteChecks } from './config-check/sites.js';
import { keyStorageChecks } from './config-check/key-storage.js';

function checksFor(cfg: Config, timeoutMs: number): Check[] {
  return [
    {
      item: 'database',
      run: async () => {
        if (!cfg.database.url) throw new Error('database.url is not set (TANDEM_DATABASE_URL, TANDEM_DATABASE_URL_FILE, --database-url or the config file)');
        return checkDatabase(cfg.database.url, timeoutMs, { migrations: true });
      },
    },
    ...ldapChecks(cfg.auth.ldap, timeoutMs),
    ...logStoreChecks(cfg, timeoutMs),
    ...siteChecks(cfg, timeoutMs),
    ...keyStorageChecks(cfg, timeoutMs),
  ];
}

async function runCheck(c: Check): Promise<CheckResult> {
  try {
    const r = await c.run();
    return typeof r === 'string' ? { item: c.item, status: 'ok', detail: r } : { item: c.item, status: 'skip', detail: r.skip };
  } catch (e) {
    return { item: c.item, status: 'fail', detail: errorMessage(e) };
  }
}

export const configCheckCommand: Command = {
  help: `
Usage: tandem config check [--config FILE] [--database-url URL] [--timeout D] [--json]

Loads the configuration exactly as "tandem server" would (file, then
TANDEM_* environment variables and *_FILE secrets, then flags), then tries
everything it points at, printing one line per item:

  config          the file and environment are valid
  database        connects; PostgreSQL version, wal_level=logical, migrations
  ldap URL        each auth.ldap.urls server: bind as auth.ldap.bindDn, find userBase/groupBase
  log dir         filesystem store: logs.dir exists and is writable
  log bucket      GCS store: gcs.bucket lists and accepts a probe object (deleted again)
  log spool dir   GCS store: logs.spoolDir exists and is writable
  site NAME ...   every site of "sites": its database, and its url's /health/live
  key storage     keyStorage.masterKey (and previousMasterKeys) decrypt every stored key

Exits 0 when every item is ok (or skipped because it is not configured), 1
when any item failed. Nothing is changed except a probe file or object that
is deleted at once.

Flags:
  --config FILE        configuration file (default: tandem.yaml if present)
  --database-url URL   override database.url
  --timeout D          limit per network item, e.g. 5s (default: 5s)
  --json               one JSON document instead of lines

Example:
  tandem config check --config /etc/tandem/tandem.yaml
`,
  flags: { timeout: { type: 'string' }, json: { type: 'boolean' } },
  configFlags: { 'database-url': 'database.url' },
  async run(ctx) {
    let timeoutMs = 5000;
    if (ctx.values.timeout !== undefined) {
      try {
        timeoutMs = parseDuration(ctx.values.timeout);
      } catch (why) {
        throw new TandemError('usage', `--timeout: ${String(why)}`);
      }
    }
    const json = ctx.values.json === true;
    const results: CheckResult[] = [];
    const width = 16;
    const print = (r: CheckResult) => {
      results.push(r);
      if (!json) ctx.out(`${(r.status === 'fail' ? 'FAIL' : r.status).padEnd(5)} ${r.item.padEnd(width)} ${r.detail}`);
    };

    const file = typeof ctx.values.config === 'string' ? ctx.values.config : undefined;
    let cfg: Config;
    try {
      cfg = ctx.config();
    } catch (e) {
      print({ item: 'config', status: 'fail', detail: errorMessage(e) });
      if (json) ctx.out(JSON.stringify({ ok: false, results }, null, 2));
      return EXIT_CODES.failed;
    }
    const sites = Object.keys(cfg.sites ?? {});
    print({
      item: 'config',
      status: 'ok',
      detail: `${file ?? (existsSync('tandem.yaml') ? 'tandem.yaml' : '(no file: environment and defaults)')} is valid` + (cfg.site ? `; this is site ${cfg.site} of ${sites.join(', ')}` : ''),
    });

    let checks: Check[];
    try {
      checks = checksFor(cfg, timeoutMs);
    } catch (e) {
      // A setting that only a check can judge (e.g. an unreadable auth.ldap.caFile).
      print({ item: 'config', status: 'fail', detail: errorMessage(e) });
      if (json) ctx.out(JSON.stringify({ ok: false, results }, null, 2));
      return EXIT_CODES.failed;
    }
    // One at a time, in a fixed order, each printed as soon as it is known.
    for (const c of checks) print(await runCheck(c));

    const failed = results.filter((r) => r.status === 'fail');
    if (json) ctx.out(JSON.stringify({ ok: failed.length === 0, results }, null, 2));
    else ctx.out(failed.length ? `${failed.length} of ${results.length} checks failed: ${failed.map((f) => f.item).join(', ')}` : `all ${results.length} checks passed`);
    return failed.length ? EXIT_CODES.failed : EXIT_CODES.ok;
  },
};
