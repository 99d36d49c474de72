import path from 'node:path';
import pg from 'pg';
import { createEmbeddedPostgres } from '../embedded/postgres.js';
import { migrate } from '../db/migrate.js';
import { loadConfig } from '../config/load.js';
import { startJobServer } from '../app/job-server.js';
import { importJobs } from '../app/job-import.js';
import { parseJobs } from '../jobs/rundeck-format.js';
import { createToken } from '../auth/tokens.js';
import { getProjectByName } from '../sql/getProjectByName.js';
import { insertProject } from '../sql/insertProject.js';
import { withTransaction } from '../sql/tx.js';
import type { Command } from './command.js';

/** The demo's sample job, in Rundeck's job YAML format: runs every minute. */
export const DEMO_JOB_YAML = `
- uuid: 6f1c2a9e-0d4b-4c55-9a57-7c1d1a3e0001
  name: hello
  group: demo
  description: Says hello every minute (a sample scheduled job)
  loglevel: INFO
  executionEnabled: true
  scheduleEnabled: true
  schedule:
    crontab: '0 * * ? * * *'
  timeZone: UTC
  multipleExecutions: false
  timeout: 5m
  options:
  - name: who
    description: whom to greet
    value: world
    required: true
  sequence:
    keepgoing: false
    strategy: node-first
    commands:
    - exec: echo "hello \${option.who} from $(hostname)"
    - script: |-
        #!/bin/sh
        echo "the time is $(date -u) and TANDEM_OPTION_WHO=$TANDEM_OPTION_WHO"
`;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run Tandem on embedded defaults (embedded PostgreSQL, filesystem log store) with a sample project',
  help: `
Usage: tandem demo [--dir DIR] [--port N] [--exit-after-start]

Starts an embedded PostgreSQL cluster in DIR (default .demo/, kept between
runs), migrates it, creates project "demo" with a job that runs every minute,
creates an API token (printed once) and runs the job server on
127.0.0.1:PORT (default 4440). Ctrl-C stops everything cleanly.

Flags:
  --dir DIR              where the demo keeps its data (default .demo)
  --port N               HTTP port of the job server (default 4440)
  --exit-after-start     start everything, print the summary, then stop (for scripts)

Example:
  tandem demo --port 4440
`,
  flags: {
    dir: { type: 'string' },
    port: { type: 'string' },
    'exit-after-start': { type: 'boolean' },
  },
  async run(ctx) {
    const dir = path.resolve((ctx.values.dir as string | undefined) ?? '.demo');
    const port = Number((ctx.values.port as string | undefined) ?? 4440);
    const out = ctx.out;
    out(`starting embedded PostgreSQL in ${dir}/pg ...`);
    const db = await createEmbeddedPostgres({ dir: path.join(dir, 'pg') });
    let pool: pg.Pool | undefined;
    try {
      const res = await migrate(db.url, { log: ctx.log });
      out(`PostgreSQL ${db.major} on 127.0.0.1:${db.port} (data in ${db.dataDir}); ${res.applied.length} migration(s) applied`);
      const config = loadConfig({
        file: ctx.values.config as string | undefined,
        overrides: {
          'database.url': db.url,
          'server.port': port,
          'server.host': '127.0.0.1',
          'server.memberName': 'demo',
          'logs.dir': path.join(dir, 'logs'),
          'server.drainTimeout': 5000,
        },
      });
      pool = new pg.Pool({ connectionString: db.url, max: 10 });
      out('creating project "demo" with job demo/hello (every minute) ...');
      const { jobs } = parseJobs(DEMO_JOB_YAML, 'yaml');
      await withTransaction(pool, async (c) => {
        const project = (await getProjectByName(c, 'demo')) ?? (await insertProject(c, { name: 'demo', description: 'Tandem demo project', createdBy: 'demo' }));
        await importJobs(c, project, jobs, 'demo');
      });
      const { token } = await createToken(pool, { user: 'demo', roles: ['admin'], description: 'created by tandem demo' });
      const server = await startJobServer({ config, log: ctx.log, pool });
      const base = server.url;
      const job = jobs[0]!.uuid!;
      out('');
      out(`Tandem job server: ${base}/`);
      out(`  API token (shown once): ${token}`);
      out(`  export TOKEN=${token}`);
      out(`  health:      curl ${base}/health/ready`);
      out(`  info:        curl -H "Authorization: Bearer $TOKEN" ${base}/api/v1/system/info`);
      out(`  jobs:        curl -H "Authorization: Bearer $TOKEN" ${base}/api/v1/projects/demo/jobs`);
      out(`  export YAML: curl -H "Authorization: Bearer $TOKEN" '${base}/api/v1/jobs/${job}?format=yaml'`);
      out(`  run it:      curl -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"options":{"who":"you"}}' ${base}/api/v1/jobs/${job}/run`);
      out(`  executions:  curl -H "Authorization: Bearer $TOKEN" ${base}/api/v1/projects/demo/executions`);
      out(`  output:      curl -H "Authorization: Bearer $TOKEN" ${base}/api/v1/executions/EXECUTION_ID/output`);
      out(`  database URL: ${db.url}`);
      out('');
      out('The job demo/hello also runs by itself at the start of every minute.');
      out('Press Ctrl-C to stop the server and the database.');
      if (!ctx.values['exit-after-start'] && !ctx.signal.aborted) await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
      out('stopping ...');
      await server.stop();
    } finally {
      await pool?.end();
      await db.stop('fast');
    }
    out('stopped.');
  },
};
