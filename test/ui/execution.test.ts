/**
 * The Execution and Activity pages in a real Chromium against a real job
 * server: the live log reaching its last line while the job runs, a log line
 * holding HTML shown as text, Abort from the page, a 200,000-line log opened
 * and scrolled to its end with a bounded number of line elements in the DOM,
 * search and go-to-line in it, the download holding the full text, and
 * finding runs in Activity by state, job and user. Plus the API additions
 * behind them (?line=, /output/search, ?format=text, Activity filters).
 */
import t from 'tap';
import type { Teardown } from '../harness/tmp.js';
import { startPostgres } from '../harness/postgres.js';
import { loginAs, newPage, screenshot } from '../harness/browser.js';
import { waitForEnd } from '../server/helpers.js';
import { USERS, startUi } from './helpers.js';

const BIG = 200_000;
const pgs = await startPostgres(t, { name: 'ui-exec' });
const { ts, browser } = await startUi(t, pgs);
// Set-up outside any subtest: failures throw (an assertion here would end the root test early).
if ((await ts.api('POST', '/api/v1/projects', { name: 'ops' })).status !== 201) throw new Error('project not created');

async function importJob(job: Record<string, unknown>): Promise<string> {
  const r = await ts.api('POST', '/api/v1/projects/ops/jobs', [job]);
  if (r.status !== 201) throw new Error(`import failed: ${r.text}`);
  return r.body.jobs[0].id;
}
async function run(jobId: string): Promise<string> {
  const r = await ts.api('POST', `/api/v1/jobs/${jobId}/run`, {});
  if (r.status !== 201) throw new Error(`run failed: ${r.text}`);
  return r.body.id;
}

const html = '<b>bold</b><img src=x onerror="window.__xss=1">';
const slow = await importJob({
  name: 'slow-printer',
  sequence: { commands: [{ exec: `for i in 1 2 3 4 5 6 7 8; do echo "tick $i"; sleep 0.4; done; echo '${html}'; echo "the last line"` }] },
});
const long = await importJob({ name: 'long-sleeper', sequence: { commands: [{ exec: 'echo started; sleep 300' }] } });
const big = await importJob({ name: 'big-log', sequence: { commands: [{ exec: `awk 'BEGIN { for (i = 1; i <= ${BIG}; i++) print "row " i }'` }] } });

/** A signed-in page for one subtest (closed with it). */
async function adminPage(t: Teardown) {
  const page = await newPage(t, browser, ts.url);
  await loginAs(page, 'admin', USERS.admin.password, '/project/ops/activity');
  return page;
}

t.test('the live log reaches its last line while the job runs; HTML in a line is text', async (t) => {
  const page = await adminPage(t);
  const id = await run(slow);
  await page.goto(`/project/ops/execution/show/${id}`);
  await page.getByTestId('log-box').getByText('tick 2', { exact: true }).waitFor();
  t.match(await page.getByTestId('execution-status').innerText(), /running/, 'the state is written out while it runs');
  await screenshot(page, 'execution');
  await page.getByTestId('log-box').getByText('the last line', { exact: true }).waitFor({ timeout: 20_000 });
  t.pass('the last line appeared without reloading the page');
  await page.getByTestId('execution-status').getByText('succeeded').waitFor();
  const line = page.getByTestId('log-box').getByText(html, { exact: true });
  t.equal(await line.count(), 1, 'a line holding HTML is shown as its text');
  t.equal(await page.locator('.log-box img, .log-box b').count(), 0, 'no element made from it');
  t.equal(await page.evaluate('window.__xss ?? 0'), 0, 'and nothing ran');
  const first = page.locator('.log-line[data-line="1"]');
  t.match(await first.innerText(), /NORMAL/, 'each line shows its level');
  t.match(await first.innerText(), /\b1\b/, 'and its step');
  t.match(await page.getByRole('table', { name: 'Steps and nodes' }).innerText(), /succeeded/, 'the step result');
  t.equal(await page.getByRole('button', { name: 'Abort' }).count(), 0, 'no Abort once ended');
});

t.test('abort a long run from the page', async (t) => {
  const page = await adminPage(t);
  const id = await run(long);
  await page.goto(`/project/ops/execution/show/${id}`);
  await page.getByTestId('log-box').getByText('started', { exact: true }).waitFor();
  await page.getByRole('button', { name: 'Abort' }).click();
  await page.getByTestId('execution-status').getByText('aborted').waitFor({ timeout: 20_000 });
  t.equal((await ts.api('GET', `/api/v1/executions/${id}`)).body.status, 'aborted', 'the API agrees');
  t.match(await page.locator('dl.props').innerText(), /aborted/);
});

t.test(`a finished log of ${BIG.toLocaleString('en')} lines opens, scrolls to its end, searches, downloads`, async (t) => {
  const page = await adminPage(t);
  const id = await run(big);
  const done = await waitForEnd(ts, id, 60_000);
  t.equal(done.status, 'succeeded');
  await page.goto(`/project/ops/execution/show/${id}`);
  await page.getByTestId('log-box').getByText('row 1', { exact: true }).waitFor();
  // The step's lines and Tandem's own (execution and step started/ended).
  const lines = (await ts.api('GET', `/api/v1/executions/${id}/output?line=0&maxBytes=1024`)).body.lines as number;
  t.ok(lines > BIG && lines < BIG + 10, `${lines} lines in the log`);
  await page.getByTestId('log-status').getByText(`${lines.toLocaleString('en')} lines, complete`).waitFor();
  const logLines = page.getByTestId('log-box').locator('.log-line');
  const opened = await logLines.count();
  t.ok(opened > 10 && opened <= 150, `only the lines in view are in the DOM (${opened})`);

  await page.getByTestId('log-box').focus();
  await page.keyboard.press('End');
  await page.getByTestId('log-box').getByText(`row ${BIG}`, { exact: true }).waitFor();
  const atEnd = await logLines.count();
  t.ok(atEnd > 10 && atEnd <= 150, `at the end still a bounded number of line elements (${atEnd})`);
  t.ok(await page.getByTestId('log-box').getByText(`row ${BIG}`, { exact: true }).isVisible(), 'the last line is visible');

  // Line numbers count every line of the log: row N is line N + 2 (after the execution's and the step's start).
  await page.getByLabel('Line', { exact: true }).fill('123458');
  await page.getByRole('button', { name: 'Go', exact: true }).click();
  await page.locator('.log-line[data-line="123458"]').getByText('row 123456', { exact: true }).waitFor();
  t.pass('go to a line in the middle loads that range');

  await page.getByLabel('Search the log').fill('ROW 7654');
  await page.getByRole('button', { name: 'Find next' }).click();
  await page.getByTestId('search-status').getByText('Found on line 7,656 (from the top)').waitFor();
  // The status is said when the search answers; the found line's range is loaded after it (seen in CI:
  // checked at once, the line was not drawn yet), so wait for the highlighted line itself.
  const hit = page.locator('.log-hit').getByText('row 7654', { exact: true });
  await hit.waitFor();
  t.ok(await hit.isVisible(), 'search (case-insensitive) goes on from the top and shows the line');

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download the log' }).click()]);
  const file = await download.path();
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(file!, 'utf8');
  const rows = text.split('\n');
  t.equal(rows.length, lines + 1, 'the download holds every line, each ended by a newline');
  t.equal(rows.filter((r) => r.startsWith('row ')).length, BIG);
  t.equal(rows.indexOf('row 1') + 1, rows.indexOf('row 2'));
  t.equal(rows[rows.indexOf(`row ${BIG}`) - 1], `row ${BIG - 1}`, 'in order');
});

t.test('the API behind it: lines, search, text, Activity filters', async (t) => {
  const list = await ts.api('GET', '/api/v1/projects/ops/executions?job=big-log');
  const id = list.body.executions[0].id;
  const r = await ts.api('GET', `/api/v1/executions/${id}/output?line=150000&maxBytes=1024`);
  t.equal(r.status, 200);
  t.equal(r.body.line, 150000);
  t.ok(r.body.lines > BIG);
  t.equal(r.body.entries[0].text, 'row 149999', 'line numbers count from 0, the execution\'s and the step\'s start first');
  const byOffset = await ts.api('GET', `/api/v1/executions/${id}/output?offset=${r.body.offset}&maxBytes=1024`);
  t.same(byOffset.body.entries[0], r.body.entries[0], 'the offset answered is where that line starts');
  const past = await ts.api('GET', `/api/v1/executions/${id}/output?line=999999999`);
  t.same([past.body.line, past.body.entries.length, past.body.complete], [r.body.lines, 0, true], 'past the end: the end');
  const s = await ts.api('GET', `/api/v1/executions/${id}/output/search?q=row%20199999&fromLine=10`);
  t.same([s.status, s.body.match], [200, 200000]);
  const none = await ts.api('GET', `/api/v1/executions/${id}/output/search?q=absent&fromLine=199000`);
  t.same([none.body.match, none.body.end], [null, true]);
  t.equal((await ts.api('GET', `/api/v1/executions/${id}/output/search?q=`)).body.error.field, 'q');
  t.equal((await ts.api('GET', `/api/v1/executions/${id}/output?line=-1`)).status, 400);
  t.equal((await ts.api('GET', `/api/v1/executions/${id}/output?format=xml`)).body.error.field, 'format');
  const bad = await ts.api('GET', '/api/v1/projects/ops/executions?since=yesterday');
  t.same([bad.status, bad.body.error.field], [400, 'since']);
  const aborted = await ts.api('GET', '/api/v1/projects/ops/executions?status=aborted&user=admin');
  t.same(aborted.body.executions.map((e: any) => e.job.name), ['long-sleeper']);
  t.equal(aborted.body.totalCapped, false);
  const future = await ts.api('GET', `/api/v1/projects/ops/executions?since=${new Date(Date.now() + 3600e3).toISOString()}`);
  t.equal(future.body.total, 0, 'a time window with nothing in it');
  const anon = await fetch(`${ts.url}/api/v1/executions/${id}/output?format=text`);
  t.equal(anon.status, 401, 'the download is authorized as the output is');
});

t.test('find runs in Activity by state, job and user', async (t) => {
  const page = await adminPage(t);
  await page.goto('/project/ops/activity');
  await page.getByTestId('activity').waitFor();
  t.equal(await page.getByTestId('activity').locator('tbody tr').count(), 3, 'every run, newest first');
  await page.getByLabel('State').selectOption('aborted');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL((u) => u.search === '?status=aborted');
  await page.getByTestId('activity-range').getByText('1–1 of 1').waitFor();
  t.match(await page.getByTestId('activity').innerText(), /long-sleeper/, 'the aborted run found by state');
  t.match(await page.getByTestId('activity').innerText(), /aborted/);
  await screenshot(page, 'activity');

  await page.getByLabel('State').selectOption('');
  await page.getByLabel('Job name').fill('slow-printer');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL((u) => u.search === '?job=slow-printer');
  // The range read "1–1 of 1" for the previous filter too (seen in CI: the aborted run still listed): wait for the new row.
  await page.getByTestId('activity').locator('tbody tr', { hasText: 'slow-printer' }).waitFor();
  await page.getByTestId('activity-range').getByText('1–1 of 1').waitFor();
  t.match(await page.getByTestId('activity').innerText(), /slow-printer/, 'found by job');
  t.notMatch(await page.getByTestId('activity').innerText(), /long-sleeper/, 'only that job');

  await page.getByLabel('Job name').fill('');
  await page.getByLabel('User').fill('nobody');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.getByText('No execution matches.').waitFor();
  await page.getByLabel('User').fill('admin');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.getByTestId('activity-range').getByText('1–3 of 3').waitFor();
  t.pass('found by user');
  await page.getByTestId('activity').getByRole('link').first().click();
  await page.getByRole('heading', { name: /Execution of/ }).waitFor();
  t.match(page.url(), /\/project\/ops\/execution\/show\//, 'a row leads to its Execution page');
});
