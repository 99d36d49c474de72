/**
 * The Sites page and the passive site in a real Chromium, on two real sites
 * (a active, b passive, replicator a → b, a job server per site serving the
 * UI): roles, epochs, lag, members and the printed failover commands; b's
 * read-only banner linking to a; the page during a planned switchover
 * (stopped after its drain step, as if the command died) and after it
 * (re-run to completion: b active with epoch 2); a change attempted on a
 * once it is passive is refused with the API's error shown.
 */
import t from 'tap';
import type { Page } from 'playwright-core';
import { buildUiAssets, loginAs, newPage, screenshot, startBrowser } from '../harness/browser.js';
import { FailpointError } from '../../replicator/failover/index.js';
import { failover, startReplication, startSiteServer, startSites, waitFor, type TestSite } from '../failover/helpers.js';
import { USERS, usersFile } from './helpers.js';

const sites = await startSites(t);
const { a, b } = sites;
const [uiDir, users] = await Promise.all([buildUiAssets(t), usersFile(t)]);
startReplication(t, a, b);
const ui = { 'ui.dir': uiDir, 'auth.usersFile': users, 'scheduler.enabled': false };
await Promise.all([startSiteServer(t, a, sites, ui), startSiteServer(t, b, sites, ui)]);
const browser = await startBrowser(t);

/** The Sites table row of a site once it shows `role` (the page refreshes itself every few seconds), as text: cells split by tabs. */
async function waitRow(page: Page, site: string, role: string): Promise<string> {
  const row = page.locator(`[data-testid="sites-table"] tr[data-site="${site}"][data-role="${role}"]`);
  await row.waitFor({ timeout: 20_000 });
  return row.innerText();
}

async function sitesPage(site: TestSite): Promise<Page> {
  const page = await newPage(t, browser, site.url);
  await loginAs(page, 'admin', USERS.admin.password, '/sites');
  await page.getByRole('heading', { name: 'Sites' }).waitFor();
  return page;
}

const pageA = await sitesPage(a);
const pageB = await sitesPage(b);

t.test('both sites, their roles, lag, members and the switchover commands', async (t) => {
  await waitFor('b to have replicated something', async () => (await b.q(`select count(*)::int as n from tandem_site.replication_progress`)).rows[0].n > 0, 20_000);
  t.match(await waitRow(pageA, 'a', 'active'), /a \(this site\)[\s\S]*\t1\treachable\tsource\t/, 'a: this site, active, epoch 1, the source');
  await waitFor('b lag in bytes', async () => /\treachable\t\d+(\.\d)? (B|KiB|MiB), /.test(await waitRow(pageA, 'b', 'passive')), 20_000);
  const rowB = await waitRow(pageA, 'b', 'passive');
  t.match(rowB, /\t0\treachable\t/, 'b: passive, epoch 0 (never promoted), reachable from a');
  t.match(rowB, /applied [0-9A-F]+\/[0-9A-F]+/, "b's applied position");
  t.match(await pageA.getByTestId('this-site').innerText(), /This site: a, role active, epoch 1; answered by member member-a/);
  const commands = await pageA.locator('pre.commands').allInnerTexts();
  t.same(commands, ['tandem failover --to b --dry-run\ntandem failover --to b --reverse --drain-timeout 5m'], 'the planned switchover, as typed');
  t.match(await pageA.getByTestId('members-table').innerText(), /member-a[\s\S]*active/, "a's members");
  t.equal(await pageA.getByTestId('readonly-banner').count(), 0, 'no banner on the active site');
  await screenshot(pageA, 'sites');
});

t.test('the passive site: banner with a link to the active site, same picture', async (t) => {
  const banner = pageB.getByTestId('readonly-banner');
  await banner.waitFor();
  t.match(await banner.innerText(), /This site \(b\) is passive/, 'says why');
  t.equal(await banner.getByRole('link').getAttribute('href'), `${a.url}/sites`, 'links to the same page on a');
  t.match(await waitRow(pageB, 'b', 'passive'), /b \(this site\)/);
  t.match(await waitRow(pageB, 'a', 'active'), /\t1\treachable\t/, "a's role and epoch read from a's database");
  await screenshot(pageB, 'passive-banner');
});

t.test('during and after a planned switchover a → b', async (t) => {
  // a's Projects page, loaded while a is active: its create form is there.
  const projects = await newPage(t, browser, a.url);
  await loginAs(projects, 'admin', USERS.admin.password, '/');
  await projects.getByRole('button', { name: 'Create project' }).waitFor();

  await t.rejects(failover(sites, { to: 'b', reverse: true, failAfter: 'drain' }), FailpointError, 'the command stops after draining a');
  t.match(await waitRow(pageB, 'a', 'draining'), /switchover to b: draining/, 'a shown draining, with the reason');
  await pageB.getByTestId('failover-running').waitFor();
  t.match(await pageB.getByTestId('failover-running').innerText(), /switchover a → b is under way/);
  t.match(await pageB.getByTestId('advice-summary').innerText(), /interrupted/);
  t.same(
    await pageB.locator('pre.commands').allInnerTexts(),
    ['tandem failover --to b --reverse', 'tandem failover --to b --abort'],
    'complete or undo, as typed',
  );

  const res = await failover(sites, { to: 'b', reverse: true });
  t.equal(res.outcome, 'done');
  t.match(await waitRow(pageB, 'b', 'active'), /b \(this site\)[\s\S]*\t2\treachable\tsource/, 'b active with epoch 2');
  t.match(await waitRow(pageB, 'a', 'passive'), /passive of b after switchover\s*\t1\treachable/, 'a passive (--reverse)');
  await waitFor('the running switchover gone', async () => (await pageB.getByTestId('failover-running').count()) === 0);
  t.same(await pageB.locator('pre.commands').allInnerTexts(), ['tandem failover --to a --dry-run\ntandem failover --to a --reverse --drain-timeout 5m'], 'now the way back');

  // A change on a, now passive, from the page loaded before: refused, the API's error shown.
  await projects.getByLabel('Name').fill('late');
  await projects.getByRole('button', { name: 'Create project' }).click();
  const alert = projects.getByRole('alert');
  await alert.waitFor();
  t.match(await alert.innerText(), /Project not created:.*\(site_passive, HTTP 503\)/s, 'refused with the API error');
  t.equal((await a.q(`select count(*)::int as n from tandem.projects where name = 'late'`)).rows[0].n, 0, 'nothing written');
  await projects.reload();
  const banner = projects.getByTestId('readonly-banner');
  await banner.waitFor();
  t.match(await banner.innerText(), new RegExp(`This site \\(a\\) is passive[\\s\\S]*${b.url.replace(/[.]/g, '\\.')}/`), 'a now links to b');
  t.equal(await projects.getByRole('button', { name: 'Create project' }).count(), 0, 'and offers no change');
});
