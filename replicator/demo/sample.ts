/**
 * What the demo puts on the active site: project "demo" with a job that runs
 * every minute, an API token for curl, and a local user to log in with in a
 * browser. Written on the active site only; the replicator carries the rows
 * (token hashes included) to the passive site, and both job servers read the
 * same local users file.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { importJobs } from '../../server/app/job-import.js';
import { ensureLocalUser } from '../../server/auth/local/bootstrap.js';
import { createToken } from '../../server/auth/tokens.js';
import { parseJobs } from '../../server/jobs/rundeck-format.js';
import { getProjectByName } from '../../server/projects/sql/get-project-by-name.js';
import { insertProject } from '../../server/projects/sql/insert-project.js';
import { withTransaction } from '../../server/db/tx.js';

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

export const DEMO_PROJECT = 'demo';
export const DEMO_USER = 'demo';

export interface SampleData {
  jobId: string;
  /** False when the project was already there (a later run: the data dir is kept, and so are the user's changes). */
  created: boolean;
  /** A new API token (shown once per run). */
  token: string;
}

/** Project "demo" with job demo/hello unless it exists, and a new admin token; on the active site's database. */
export async function ensureSampleData(activeDbUrl: string): Promise<SampleData> {
  const { jobs } = parseJobs(DEMO_JOB_YAML, 'yaml');
  const pool = new pg.Pool({ connectionString: activeDbUrl, max: 2, application_name: 'tandem-demo' });
  pool.on('error', () => undefined);
  try {
    const created = await withTransaction(pool, async (c) => {
      if (await getProjectByName(c, DEMO_PROJECT)) return false;
      const project = await insertProject(c, { name: DEMO_PROJECT, description: 'Tandem demo project', createdBy: DEMO_USER });
      await importJobs(c, project, jobs, DEMO_USER);
      return true;
    });
    const { token } = await createToken(pool, { user: DEMO_USER, roles: ['admin'], description: 'created by tandem demo' });
    return { jobId: jobs[0]!.uuid!, created, token };
  } finally {
    await pool.end();
  }
}

/**
 * The local user "demo" (role admin) and its password. The password is
 * generated on the first run and kept in a 0600 file beside the users file so
 * that every run can print it (a convenience of the demo, not of a deployment).
 */
export async function ensureDemoLogin(usersFile: string, passwordFile: string): Promise<{ user: string; password: string }> {
  const r = await ensureLocalUser(usersFile, DEMO_USER, ['admin']);
  if (r.password) {
    writeFileSync(passwordFile, r.password + '\n', { mode: 0o600 });
    return { user: DEMO_USER, password: r.password };
  }
  const password = existsSync(passwordFile) ? readFileSync(passwordFile, 'utf8').trim() : '';
  return { user: DEMO_USER, password: password || `(unknown: set one with \`tandem user passwd ${DEMO_USER} --users-file ${usersFile}\`)` };
}
