/** `tandem demo`: two sites with failover on one machine (orchestration in replicator/demo/). */
import path from 'node:path';
import { TandemError } from '../../server/errors.js';
import { runTwoSiteDemo } from '../demo/two-sites.js';
import { createLogger } from '../../server/log.js';
import type { Command } from '../../server/cli/command.js';
import { cliPrefix } from '../../server/cli/printed-command.js';

export const demoCommand: Command = {
  help: `
Usage: tandem demo [--dir DIR] [--port N] [--exit-after-start]

Runs two sites on this machine with embedded defaults, data in DIR (default
.demo/, kept between runs):
  site a: embedded PostgreSQL (DIR/a/pg), log store DIR/a/logs, job server on 127.0.0.1:PORT
  site b: embedded PostgreSQL (DIR/b/pg), log store DIR/b/logs, job server on 127.0.0.1:PORT+1
  replication (database rows and execution logs) from the active site to the
  passive one, in this process.
The first run initialises a as active and b as passive, creates project
"demo" with a job that runs every minute and a local user "demo" (its
password is printed at every start). Every start creates an API token
(printed once). It writes DIR/a/tandem.yaml and DIR/b/tandem.yaml (site:,
sites:) and prints the tandem failover / status / rejoin commands to try.
Its log goes to DIR/demo.log; the terminal (stderr) gets warnings and errors
only, unless --log-level asks for more.

A later run starts the sites in the roles they were left in: after
"tandem failover --to b" site b is active (a fenced until "tandem rejoin"),
and the demo replicates from b. Ctrl-C stops the job servers, the
replication and both PostgreSQL clusters.

Flags:
  --dir DIR              where the demo keeps its data (default .demo)
  --port N               HTTP port of site a's job server; site b uses N+1 (default 4440)
  --exit-after-start     start everything, wait until the passive site has the
                         sample project, print the summary, then stop (for scripts)

Example:
  tandem demo --port 4440
  tandem failover --config .demo/b/tandem.yaml --to b --reverse   # in another shell
`,
  flags: {
    dir: { type: 'string' },
    port: { type: 'string' },
    'exit-after-start': { type: 'boolean' },
  },
  async run(ctx) {
    if (ctx.values.config !== undefined) {
      throw new TandemError('usage', '--config: the demo writes its own configuration (DIR/a/tandem.yaml, DIR/b/tandem.yaml); use --dir and --port');
    }
    const portText = (ctx.values.port as string | undefined) ?? '4440';
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65534) {
      throw new TandemError('usage', `--port ${portText}: expected a port number from 1 to 65534 (site b uses the next one)`, { field: 'port' });
    }
    await runTwoSiteDemo({
      dir: path.resolve((ctx.values.dir as string | undefined) ?? '.demo'),
      port,
      cli: cliPrefix(),
      exitAfterStart: ctx.values['exit-after-start'] === true,
      out: ctx.out,
      // Start-up alone logs some 40 info lines: on the terminal only warnings and errors, unless asked
      // for more (--log-level, TANDEM_LOG_LEVEL); every line is in DIR/demo.log.
      log: ctx.values['log-level'] !== undefined || process.env.TANDEM_LOG_LEVEL ? ctx.log : createLogger({ component: 'demo' }, { level: 'warn' }),
      signal: ctx.signal,
    });
  },
};
