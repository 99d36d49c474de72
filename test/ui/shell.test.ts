/**
 * The web UI's frame in a real Chromium: login through the form and back to
 * the page asked for, the header (site, member, user, roles), the Projects
 * page, escaping, CSP without inline scripts, logout; and the server side of
 * serving it (login redirect, immutable hashed assets, nothing else read).
 */
import t from 'tap';
import { startPostgres } from '../harness/postgres.js';
import { loginAs, newPage, screenshot } from '../harness/browser.js';
import { USERS, startUi } from './helpers.js';

const pgs = await startPostgres(t, { name: 'ui-shell' });
const { ts, browser } = await startUi(t, pgs);

t.test('the server side: login redirect, CSP, assets', async (t) => {
  const anon = await fetch(`${ts.url}/project/x/jobs?q=1`, { redirect: 'manual' });
  t.equal(anon.status, 303, 'no session: to the login form');
  t.equal(anon.headers.get('location'), '/login?next=%2Fproject%2Fx%2Fjobs%3Fq%3D1', 'coming back to the page asked for');

  const login = await fetch(`${ts.url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: 'admin', password: USERS.admin.password }).toString(),
    redirect: 'manual',
  });
  t.equal(login.headers.get('location'), '/', 'a login without next lands on the UI home');
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const shell = await fetch(`${ts.url}/`, { headers: { cookie } });
  t.equal(shell.status, 200);
  const csp = shell.headers.get('content-security-policy') ?? '';
  t.match(csp, /script-src 'self'/);
  t.notMatch(csp, /unsafe-inline|unsafe-eval/, 'no inline script or eval allowed');
  const html = await shell.text();
  t.notMatch(html, /<script(?![^>]*\bsrc=)/, 'no inline script element in the shell');
  const script = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  t.ok(script, 'the shell links the hashed bundle');
  const asset = await fetch(`${ts.url}${script}`);
  t.equal(asset.status, 200);
  t.match(asset.headers.get('content-type'), /text\/javascript/);
  t.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  for (const p of ['/ui/assets/../manifest.json', '/ui/assets/%2e%2e%2fmanifest.json', '/ui/manifest.json', '/ui/assets/nope-123.js']) {
    const r = await fetch(`${ts.url}${p}`);
    t.equal(r.status, 404, `${p}: not served`);
  }
  const site = await ts.api('GET', '/api/v1/site');
  t.equal(site.status, 200);
  t.equal(site.body.role, 'active');
  t.equal(site.body.member, ts.server.member, 'the member that answered');
});

t.test('log in, see the frame and the projects, create one, log out', async (t) => {
  const evil = '<img src=x onerror="window.__xss=1">';
  t.equal((await ts.api('POST', '/api/v1/projects', { name: 'ops', description: evil })).status, 201);
  const page = await newPage(t, browser, ts.url);
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  await loginAs(page, 'admin', USERS.admin.password, '/');
  await page.getByRole('heading', { name: 'Projects' }).waitFor();
  const who = page.getByTestId('who');
  t.match(await who.innerText(), /admin \(admin\)/, 'the user and roles in the header');
  t.match(await who.innerText(), /member /, 'the member that answered');
  const row = page.getByRole('row', { name: /ops/ });
  t.match(await row.innerText(), evil, 'a description with HTML is shown as text');
  t.equal(await page.evaluate('window.__xss ?? 0'), 0, 'and never runs');
  t.equal(await page.locator('main img').count(), 0);
  await screenshot(page, 'projects');

  await page.getByLabel('Name').fill('web');
  await page.getByLabel('Description').fill('made in the browser');
  await page.getByRole('button', { name: 'Create project' }).click();
  await page.getByRole('link', { name: 'web' }).waitFor();
  t.equal((await ts.api('GET', '/api/v1/projects/web')).body.description, 'made in the browser', 'created through the API with the CSRF token');

  // Rundeck's paths for the same pages (bookmarks of a Rundeck server).
  await page.goto('/menu/storage');
  await page.getByRole('heading', { name: 'Key Storage' }).waitFor();
  await page.goto('/project/web/home');
  await page.getByRole('heading', { name: 'Jobs' }).waitFor();
  await page.goto('/menu/home');
  await page.getByRole('heading', { name: 'Projects' }).waitFor();
  t.equal(await page.getByRole('heading', { name: 'Page not found' }).count(), 0, 'Rundeck bookmarks reach their pages');

  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL((u) => u.pathname === '/login');
  const again = await page.goto('/');
  t.equal(new URL(again!.url()).pathname, '/login', 'the session is gone');
  t.same(violations, [], 'no CSP violation on the way');
});

t.test('a wrong password is said plainly; keyboard only login works', async (t) => {
  const page = await newPage(t, browser, ts.url);
  await page.goto('/login?next=%2F');
  await page.keyboard.press('Tab');
  await page.getByLabel('User name').fill('viewer');
  await page.getByLabel('Password').fill('wrong');
  await page.keyboard.press('Enter');
  await page.getByRole('alert').waitFor();
  t.match(await page.getByRole('alert').innerText(), /invalid|incorrect|wrong/i);
  await page.getByLabel('Password').fill(USERS.viewer.password);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Projects' }).waitFor();
  t.match(await page.getByTestId('who').innerText(), /viewer \(user\)/);
});
