/**
 * The Execution and Activity pages' measurements for the `ui` group (called
 * by test/bench/ui.bench.ts, which owns the set-up: embedded PostgreSQL, a job
 * server with the UI and the filesystem log store, Chromium, an admin page):
 *
 * - `ui.log_follow_lag_ms_p50/_p99`: a step prints a line carrying its own
 *   clock every 100 ms; the page records (MutationObserver) when each line
 *   first appears in the log view; lag = appeared − printed (same machine,
 *   same clock). Includes the store's flush interval (1 s for the filesystem
 *   store) and the page's tail polling.
 * - `ui.big_log_open_ms`: navigation to the Execution page of a finished
 *   1,000,000-line log until its first lines are visible; `ui.big_log_heap_mb`:
 *   the tab's used JS heap after jumping to the end (last line visible).
 * - `ui.activity_page_ms`: navigation to Activity with 1,000,000 executions in
 *   the project until the first page's rows are visible (the slowest of no
 *   filter, a state, a user, a job and a 1-day window).
 */
import type { Page } from 'playwright-core';
import type pg from 'pg';
import { percentile, type BenchReport } from './report.js';
import { seedExecutions } from './ui-exec-seed.js';

export interface UiExecBenchContext {
  /** The job server's base URL. */
  url: string;
  /** An admin API token. */
  token: string;
  /** A superuser pool on the server's database (seeding). */
  pool: pg.Pool;
  /** A page signed in as admin on `url`. */
  page: Page;
  report: BenchReport;
}

const BIG_LINES = 1_000_000;
const ACTIVITY_ROWS = 1_000_000;
const FOLLOW_LINES = 60;

async function api(c: UiExecBenchContext, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(c.url + path, {
    method,
    headers: { authorization: `Bearer ${c.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function ensureProject(c: UiExecBenchContext, name: string): Promise<string> {
  const got = await fetch(`${c.url}/api/v1/projects/${name}`, { headers: { authorization: `Bearer ${c.token}` } });
  if (got.status === 404) await api(c, 'POST', '/api/v1/projects', { name });
  const row = await c.pool.query<{ id: string }>('select id from tandem.projects where name = $1', [name]);
  return row.rows[0]!.id;
}

async function runJob(c: UiExecBenchContext, project: string, name: string, exec: string): Promise<string> {
  const imported = await api(c, 'POST', `/api/v1/projects/${project}/jobs`, [{ name, sequence: { commands: [{ exec }] } }]);
  return (await api(c, 'POST', `/api/v1/jobs/${imported.jobs[0].id}/run`, {})).id;
}

async function waitEnded(c: UiExecBenchContext, id: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = await api(c, 'GET', `/api/v1/executions/${id}`);
    if (['succeeded', 'failed', 'aborted', 'timedout'].includes(e.status)) {
      if (e.status !== 'succeeded') throw new Error(`execution ${id} ${e.status}`);
      return;
    }
    if (Date.now() > deadline) throw new Error(`execution ${id} did not end in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function measureLogFollowLag(c: UiExecBenchContext): Promise<void> {
  c.report.progress(`log follow lag: a step printing ${FOLLOW_LINES} stamped lines, 100 ms apart`);
  await ensureProject(c, 'bench-exec');
  const id = await runJob(c, 'bench-exec', 'follow-lag', `for i in $(seq 1 ${FOLLOW_LINES}); do echo "stamp $(date +%s%3N)"; sleep 0.1; done`);
  await c.page.goto(`/project/bench-exec/execution/show/${id}`);
  await c.page.getByTestId('log-box').waitFor();
  // Record, in the page, when each stamped line is first in the DOM (the view renders only what is visible, and
  // follow keeps the end visible).
  // (Browser code as text: the server's tsconfig has no DOM types.)
  await c.page.evaluate(`(() => {
    const seen = new Map();
    window.__lags = seen;
    const box = document.querySelector('[data-testid="log-box"]');
    const scan = () => {
      const now = Date.now();
      for (const el of box.querySelectorAll('.log-text')) {
        const m = /^stamp (\\d+)$/.exec(el.textContent ?? '');
        if (m && !seen.has(m[1])) seen.set(m[1], now - Number(m[1]));
      }
    };
    new MutationObserver(scan).observe(box, { childList: true, subtree: true, characterData: true });
    scan();
  })()`);
  await waitEnded(c, id, 120_000);
  await c.page.getByTestId('log-status').getByText(/complete/).waitFor({ timeout: 30_000 });
  const lags = (await c.page.evaluate('[...window.__lags.values()]')) as number[];
  // Lines already printed before the page was open measure the page's opening, not following: keep the live ones.
  const live = lags.slice(3).sort((a, b) => a - b);
  c.report.figure('ui.log_follow_lag_ms_p50', Math.round(percentile(live, 50)), 'line printed by a running step until visible on the Execution page, p50');
  c.report.figure('ui.log_follow_lag_ms_p99', Math.round(percentile(live, 99)), 'the same, p99 (target < 1,500 ms, filesystem store)');
  c.report.note(`ui.log_follow_lag_ms: ${live.length} lines seen live of ${FOLLOW_LINES}; includes the filesystem store's 1 s flush interval and the page's 250 ms tail poll.`);
}

export async function measureBigLog(c: UiExecBenchContext): Promise<void> {
  c.report.progress(`big log: a step printing ${BIG_LINES.toLocaleString('en')} lines`);
  await ensureProject(c, 'bench-exec');
  const id = await runJob(c, 'bench-exec', 'big-log', `awk 'BEGIN { for (i = 1; i <= ${BIG_LINES}; i++) print "row " i " of a long log line with some words in it" }'`);
  await waitEnded(c, id, 600_000);
  await c.page.goto('/');
  const t0 = Date.now();
  await c.page.goto(`/project/bench-exec/execution/show/${id}`);
  await c.page.getByTestId('log-box').getByText('row 1 of a long log line with some words in it', { exact: true }).waitFor({ timeout: 60_000 });
  const openMs = Date.now() - t0;
  // The line count comes after the first lines (the server's line index scans the log once): End goes to the end it knows.
  await c.page.getByTestId('log-status').getByText(/^1,000,0\d\d lines, complete$/).waitFor({ timeout: 60_000 });
  const countMs = Date.now() - t0;
  await c.page.getByTestId('log-box').focus();
  await c.page.keyboard.press('End');
  await c.page.getByTestId('log-box').getByText(`row ${BIG_LINES} of a long log line with some words in it`, { exact: true }).waitFor({ timeout: 60_000 });
  const rows = await c.page.getByTestId('log-box').locator('.log-line').count();
  const heap = (await c.page.evaluate('performance.memory ? performance.memory.usedJSHeapSize : 0')) as number;
  c.report.figure('ui.big_log_open_ms', openMs, 'Execution page of a finished 1,000,000-line log: navigation until the first lines are visible (target < 1,500 ms)');
  c.report.figure('ui.big_log_heap_mb', Math.round((heap / 1048576) * 10) / 10, "the tab's used JS heap after scrolling to the end (target < 200 MB)");
  c.report.note(`ui.big_log: the line count (and the scrollbar for the whole log) after ${countMs} ms; ${rows} line elements in the DOM at the end of the 1,000,000-line log; the first open builds the server's line index of the log (one scan).`);
}

export async function measureActivityPage(c: UiExecBenchContext): Promise<void> {
  const projectId = await ensureProject(c, 'bench-activity');
  c.report.progress(`activity: seeding ${ACTIVITY_ROWS.toLocaleString('en')} executions (one insert ... select generate_series)`);
  const t0 = Date.now();
  await seedExecutions(c.pool, projectId, ACTIVITY_ROWS);
  c.report.progress(`activity: seeded in ${Math.round((Date.now() - t0) / 1000)} s`);
  const day = 86_400_000;
  const views: Array<[string, string]> = [
    ['no filter', ''],
    ['state aborted', '?status=aborted'],
    ['user', '?user=user-7'],
    ['job', '?job=job-17'],
    ['1-day window 200 days back', `?since=${new Date(Date.now() - 200 * day).toISOString()}&before=${new Date(Date.now() - 199 * day).toISOString()}`],
  ];
  const times: string[] = [];
  let worst = 0;
  for (const [label, query] of views) {
    await c.page.goto('/');
    const s = Date.now();
    await c.page.goto(`/project/bench-activity/activity${query}`);
    await c.page.getByTestId('activity').locator('tbody tr').first().waitFor({ timeout: 30_000 });
    const ms = Date.now() - s;
    worst = Math.max(worst, ms);
    times.push(`${label} ${ms} ms`);
  }
  c.report.figure('ui.activity_page_ms', worst, 'Activity with 1,000,000 executions: navigation until the first page is visible, slowest of 5 filters (target < 1,000 ms)');
  c.report.note(`ui.activity_page_ms per filter: ${times.join(', ')}.`);
}
