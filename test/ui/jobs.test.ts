/**
 * The Jobs and Job pages in a real Chromium: a Rundeck YAML file imported
 * through the upload form (its warnings shown), found in the group tree by a
 * search, opened, run from the form built from its options (a required
 * option, an enforced list, a secure value that never reaches the page's
 * HTML nor the execution's view, a regex the server checks), landing on the
 * execution page; a job named with HTML shown as text; 5,000 jobs: first page
 * and search.
 */
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { startPostgres } from '../harness/postgres.js';
import { loginAs, newPage, screenshot } from '../harness/browser.js';
import { USERS, startUi } from './helpers.js';
import { seedJobs } from './seed-jobs.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/deploy-web.yaml', import.meta.url));
const SECRET = 'pw-Zq81-never-shown';

const pgs = await startPostgres(t, { name: 'ui-jobs' });
const { ts, browser } = await startUi(t, pgs);
// Set-up without top-level asserts (an assert would let tap end the root test early).
for (const name of ['ops', 'big']) {
  const r = await ts.api('POST', '/api/v1/projects', { name });
  if (r.status !== 201) throw new Error(`project ${name}: ${r.text}`);
}

t.test('import through the form, find by search, open, run with options', async (t) => {
  const page = await newPage(t, browser, ts.url);
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await loginAs(page, 'admin', USERS.admin.password, '/project/ops/jobs');
  await page.getByRole('heading', { name: 'Jobs' }).waitFor();
  await page.getByText('No job in this project yet.').waitFor();

  await page.getByLabel('Job file (Rundeck YAML or JSON)').setInputFiles(FIXTURE);
  await page.getByRole('button', { name: 'Import' }).click();
  const result = page.getByTestId('import-result');
  await result.waitFor();
  t.match(await result.innerText(), /Created 1, updated 0/, 'created and updated counts shown');
  const warnings = await page.getByRole('list', { name: 'Import warnings' }).getByRole('listitem').allInnerTexts();
  t.ok(warnings.length >= 1, `the API's warnings are listed (${warnings.length})`);
  t.ok(warnings.some((w) => /defaultTab|plugins/.test(w)), 'naming the fields Tandem keeps without using');
  await page.getByText('1 job in 1 top-level group').waitFor();

  // A bad file: the error with its line and column.
  const bad = { name: 'bad.yaml', mimeType: 'application/yaml', buffer: Buffer.from('- name: x\n  sequence: [\n') };
  await page.getByLabel('Job file (Rundeck YAML or JSON)').setInputFiles(bad);
  await page.getByRole('button', { name: 'Import' }).click();
  const refused = page.getByRole('alert').filter({ hasText: 'Import refused' });
  await refused.waitFor();
  t.match(await refused.innerText(), /line \d+, column \d+/, 'a syntax error names its line and column');

  await page.getByLabel('Search jobs by name or group').fill('DEPLOY');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL((u) => u.search === '?q=DEPLOY');
  const link = page.getByRole('link', { name: 'Deploy web' });
  await link.waitFor();
  t.equal(await page.getByRole('button', { name: /apps/ }).getAttribute('aria-expanded'), 'true', 'the search opened the group holding the match');
  await screenshot(page, 'jobs');
  await page.getByRole('button', { name: /^apps/ }).focus();
  await page.keyboard.press('Enter');
  await link.waitFor({ state: 'detached' });
  t.pass('a group closes from the keyboard');
  await page.keyboard.press('Enter');
  await link.click();

  await page.getByRole('heading', { name: 'Deploy web', level: 1 }).waitFor();
  t.equal(await page.getByRole('list', { name: 'Next fire times' }).getByRole('listitem').count(), 5, 'five next fire times');
  t.match(await page.getByRole('list', { name: 'Next fire times' }).innerText(), /2:30|02:30/, 'shown in the job zone (02:30 Paris)');
  t.match(await page.locator('main').innerText(), /\^\\d\+\\\.\\d\+\$/, "the option's regex is shown as a hint");
  t.equal(await page.locator('select#opt-env').count(), 1, 'an enforced list is a select');
  t.equal(await page.getByLabel(/^password/).getAttribute('type'), 'password', 'a secure option is a password input');
  await page.getByText('Not run yet.').waitFor();
  await screenshot(page, 'job');

  await page.getByLabel(/^env/).selectOption('prod');
  await page.getByLabel(/^version/).fill('not-a-version');
  await page.getByLabel(/^password/).fill(SECRET);
  await page.getByRole('button', { name: 'Run job now' }).click();
  const notRun = page.getByRole('alert').filter({ hasText: 'Not run' });
  await notRun.waitFor();
  t.match(await notRun.innerText(), /version/, "the server's 400 names the option");
  t.equal(await page.getByLabel(/^password/).inputValue(), '', 'the secure value left the form when it was sent');

  await page.getByLabel(/^version/).fill('1.2');
  await page.getByLabel(/^password/).fill(SECRET);
  await page.getByLabel(/^targets/).fill('web1,web2');
  await page.getByRole('button', { name: 'Run job now' }).click();
  await page.waitForURL((u) => /^\/project\/ops\/execution\/show\/[0-9a-f-]{36}$/.test(u.pathname));
  const execId = new URL(page.url()).pathname.split('/').pop()!;
  t.notOk((await page.content()).includes(SECRET), 'the secure value is not in the page HTML');
  const exec = await ts.api('GET', `/api/v1/executions/${execId}`);
  t.equal(exec.status, 200);
  t.equal(exec.body.options.env, 'prod', 'the enforced list value was sent');
  t.equal(exec.body.options.version, '1.2');
  t.equal(exec.body.options.targets, 'web1,web2', 'the multivalued option with its delimiter');
  t.notOk(exec.text.includes(SECRET), "nor in the execution's view");

  await page.goBack();
  await page.getByRole('heading', { name: 'Deploy web', level: 1 }).waitFor();
  const recent = page.getByRole('table', { name: 'Recent executions' });
  await recent.waitFor();
  t.equal(await recent.getByRole('link', { name: `#${execId.slice(0, 8)}` }).getAttribute('href'), `/project/ops/execution/show/${execId}`, 'the run is listed, linked to its page');
  t.notOk((await page.content()).includes(SECRET), 'back on the job page, the secret is not there either');
  t.same(dialogs, [], 'no dialog opened');
});

t.test('a job named with HTML is shown as text', async (t) => {
  const evil = '<img src=x onerror=alert(1)>';
  const r = await ts.api('POST', '/api/v1/projects/ops/jobs', [{ name: evil, group: 'x<b>y', sequence: { commands: [{ exec: 'true' }] } }]);
  t.equal(r.status, 201);
  const page = await newPage(t, browser, ts.url);
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await loginAs(page, 'admin', USERS.admin.password, '/project/ops/jobs?q=img');
  const link = page.getByRole('link', { name: evil });
  await link.waitFor();
  t.equal(await link.innerText(), evil, 'in the tree, as text');
  await link.click();
  await page.getByRole('heading', { name: evil, level: 1 }).waitFor();
  t.equal(await page.locator('main img, main b').count(), 0, 'no element made of it');
  t.same(dialogs, [], 'nothing ran');
});

t.test('a reader runs a job whose required secure option has a default it may not see', async (t) => {
  const job = {
    name: 'Rotate keys',
    options: [{ name: 'token', required: true, secure: true, value: 'default-token-never-shown' }],
    sequence: { commands: [{ exec: 'true' }] },
  };
  const r = await ts.api('POST', '/api/v1/projects/ops/jobs', [job]);
  t.equal(r.status, 201);
  const page = await newPage(t, browser, ts.url);
  await loginAs(page, 'viewer', USERS.viewer.password, `/project/ops/job/show/${r.body.jobs[0].id}`);
  await page.getByRole('heading', { name: 'Rotate keys', level: 1 }).waitFor();
  const input = page.getByLabel(/^token/);
  t.equal(await input.getAttribute('required'), null, 'not required in the form: the hidden default applies when it is left empty');
  t.match(await page.locator('main').innerText(), /a default is set: leave empty to use it/, 'the form says so');
  t.notOk((await page.content()).includes('default-token-never-shown'), 'the default is not in the page');
  await page.getByRole('button', { name: 'Run job now' }).click();
  await page.waitForURL((u) => /^\/project\/ops\/execution\/show\/[0-9a-f-]{36}$/.test(u.pathname));
  t.pass('the run started with the default');
});

t.test('5,000 jobs: the first page, the tree, search', async (t) => {
  await seedJobs(ts.pool, ts.api, 'big', { count: 5000, ungrouped: 1000, groups: 40 });
  const page = await newPage(t, browser, ts.url);
  await loginAs(page, 'admin', USERS.admin.password, '/project/big/jobs');
  await page.getByText('5000 jobs in 10 top-level groups and 1000 outside any group').waitFor();
  const outside = page.getByRole('list', { name: 'Jobs outside any group' });
  // The summary comes with the group counts; the first page of jobs is a request of its own: wait for its last row.
  await outside.getByRole('link', { name: 'job-0050' }).waitFor();
  t.equal(await outside.getByRole('link').count(), 50, 'the first page of the jobs outside any group');
  t.match(await page.getByRole('navigation', { name: 'Jobs outside any group pages' }).innerText(), /1–50 of 1000/);
  await page.getByRole('navigation', { name: 'Jobs outside any group pages' }).getByRole('button', { name: 'Next →' }).click();
  await page.getByRole('link', { name: 'job-0051' }).waitFor();
  t.pass('the next page');
  await page.getByRole('button', { name: /^team-03/ }).click();
  await page.getByRole('button', { name: /^app-1/ }).first().click();
  await page.getByRole('list', { name: 'Jobs in team-03/app-1' }).getByRole('link').first().waitFor();
  t.pass('a group opens with its jobs');
  await page.getByLabel('Search jobs by name or group').fill('job-4321');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('link', { name: 'job-4321' }).waitFor();
  t.match(await page.getByTestId('job-tree').innerText(), /1 job matching “job-4321”/);
});

t.test('a passive site: the run button is disabled and says why', async (t) => {
  const job = (await ts.api('GET', '/api/v1/projects/ops/jobs?q=Deploy%20web')).body.jobs[0];
  const page = await newPage(t, browser, ts.url);
  await loginAs(page, 'admin', USERS.admin.password, '/');
  // The state a failover leaves a site in: its tandem_site.site row says passive (last subtest: the server stays so).
  await ts.pool.query(`insert into tandem_site.site (name, role, epoch, active_site, active_url) values ('b', 'passive', 1, 'a', 'https://a.example.org')`);
  await page.goto(`/project/ops/job/show/${job.id}`);
  await page.getByRole('heading', { name: 'Deploy web', level: 1 }).waitFor();
  await page.getByTestId('readonly-banner').waitFor();
  const run = page.getByRole('button', { name: 'Run job now' });
  t.ok(await run.isDisabled(), 'the run button is disabled');
  t.match(await page.locator('#run-why').innerText(), /read-only/, 'with the reason');
  await page.goto('/project/ops/jobs');
  await page.getByRole('heading', { name: 'Jobs' }).waitFor();
  t.equal(await page.getByLabel('Job file (Rundeck YAML or JSON)').count(), 0, 'no import form on a passive site');
});
