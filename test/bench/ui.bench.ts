/**
 * The web UI measured in a real Chromium (Debian's `chromium`, driven by
 * playwright-core, headless), against a job server in this process on an
 * embedded PostgreSQL, signed in as a local admin through the login form.
 *
 * - `ui.jobs_page_ms`: navigation to the Jobs page of a project with 5,000
 *   jobs (1,000 outside any group, 4,000 in 40 groups under 10 top-level
 *   ones) until its list is visible: the tree's summary line and the first
 *   page (50) of the jobs outside any group. A full navigation each time
 *   (shell, bundle from the HTTP cache, /api/v1/me, /api/v1/site, the group
 *   counts and the first page). p50 and p99 of NAVIGATIONS after one warm-up.
 *
 * Other pages' measurements (helper uiexec: test/bench/ui-exec.ts) take the
 * same `UiBenchContext` and are called from here.
 */
import { mkdir, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadConfig } from '../../server/config/load.js';
import { createEmbeddedPostgres } from '../../server/embedded/postgres.js';
import { migrate } from '../../server/db/migrate.js';
import { startJobServer } from '../../server/app/job-server.js';
import { createToken } from '../../server/auth/tokens.js';
import { hashPassword } from '../../server/auth/password.js';
import { writeUsersFile } from '../../server/auth/local/users-file.js';
import { silentLogger } from '../../server/log.js';
import { buildUi } from '../../server/ui/build.js';
import { CHROMIUM, loginAs } from '../harness/browser.js';
import { seedJobs } from '../ui/seed-jobs.js';
import { percentile, type BenchGroup, type BenchReport } from './report.js';
import { measureActivityPage, measureBigLog, measureLogFollowLag } from './ui-exec.js';

const JOBS = 5000;
const NAVIGATIONS = 15;
const ADMIN_PASSWORD = 'bench-admin-pw';

/** What every `ui` measurement gets: the server, an admin API token, the database, a signed-in page. */
export interface UiBenchContext {
  url: string;
  token: string;
  pool: pg.Pool;
  browser: Browser;
  page: Page;
  report: BenchReport;
}

async function api(url: string, token: string, method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url + p, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function jobsPage(ctx: UiBenchContext): Promise<void> {
  const { url, token, pool, page, report } = ctx;
  report.progress(`seeding ${JOBS} jobs`);
  if ((await api(url, token, 'POST', '/api/v1/projects', { name: 'big' })).status !== 201) throw new Error('project big not created');
  await seedJobs(pool, (m, p, b) => api(url, token, m, p, b), 'big', { count: JOBS, ungrouped: 1000, groups: 40 });
  const visible = async () => {
    await page.getByText(`${JOBS} jobs in 10 top-level groups and 1000 outside any group`).waitFor();
    await page.getByRole('list', { name: 'Jobs outside any group' }).getByRole('link', { name: 'job-0050' }).waitFor();
  };
  report.progress(`${NAVIGATIONS} navigations to the Jobs page`);
  await page.goto('/project/big/jobs');
  await visible(); // warm-up: the bundle into the browser's cache, the statements prepared
  const ms: number[] = [];
  for (let i = 0; i < NAVIGATIONS; i++) {
    await page.goto('about:blank');
    const t0 = performance.now();
    await page.goto('/project/big/jobs');
    await visible();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  report.figure('ui.jobs_page_ms', percentile(ms, 50), `navigation to the Jobs page with ${JOBS} jobs until the tree and the first page are visible, p50 of ${NAVIGATIONS} (target < 1,000)`);
  report.figure('ui.jobs_page_p99_ms', percentile(ms, 99), 'the same, p99');
}

const bench: BenchGroup = async (report) => {
  const base = path.join(tmpdir(), `tandem-bench-ui-${process.pid}`);
  await rm(base, { recursive: true, force: true });
  await mkdir(base, { recursive: true });
  report.note(`Load average when the group started: ${loadavg().map((l) => l.toFixed(1)).join(', ')}.`);
  report.note('Measured in headless Chromium (Debian package) driven by playwright-core; job server and PostgreSQL on the same machine; the UI bundle minified as `make build` writes it.');
  report.progress('building the UI, starting embedded PostgreSQL');
  const uiDir = path.join(base, 'ui');
  await buildUi(uiDir, { minify: true });
  const usersFile = path.join(base, 'users.yaml');
  writeUsersFile(usersFile, new Map([['admin', { password: await hashPassword(ADMIN_PASSWORD), roles: ['admin'] }]]));
  const db = await createEmbeddedPostgres({ dir: path.join(base, 'pg') });
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  pool.on('error', (e) => process.stderr.write(`bench pool: an idle session was ended by the server: ${e.message}\n`));
  let browser: Browser | undefined;
  try {
    await migrate(db.url);
    const config = loadConfig({
      env: {},
      file: '',
      overrides: { 'database.url': db.url, 'server.port': 0, 'logs.dir': path.join(base, 'logs'), 'scheduler.enabled': false, 'ui.dir': uiDir, 'auth.usersFile': usersFile },
    });
    const server = await startJobServer({ config, log: silentLogger });
    try {
      const { token } = await createToken(pool, { user: 'bench', roles: ['admin'] });
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'] });
      const context = await browser.newContext({ baseURL: server.url, viewport: { width: 1280, height: 860 } });
      const page = await context.newPage();
      await loginAs(page, 'admin', ADMIN_PASSWORD, '/');
      const ctx: UiBenchContext = { url: server.url, token, pool, browser, page, report };
      await jobsPage(ctx);
      await measureLogFollowLag(ctx);
      await measureBigLog(ctx);
      await measureActivityPage(ctx);
    } finally {
      await browser?.close();
      await server.stop();
    }
  } finally {
    await pool.end();
    await db.stop('fast');
    await rm(base, { recursive: true, force: true });
  }
};

export default bench;
