/**
 * Nodes, Key Storage, Audit and the login form in a real Chromium against a
 * job server with local users and the harness's slapd: LDAP login lands on the
 * page asked for; nodes filtered with the node filter language (a bad filter
 * shows the API's error with its token and column); a password and a key
 * uploaded, listed by metadata only and deleted (content never on the page);
 * the audit trail filtered and paged, and "not allowed" for a user without
 * the right; throttled logins say when to try again.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startPostgres } from '../harness/postgres.js';
import { BASE_DN, SERVICE_DN, SERVICE_PASSWORD, startLdap, users } from '../harness/ldap.js';
import { loginAs, newPage, screenshot } from '../harness/browser.js';
import { tempDir } from '../harness/tmp.js';
import { MASTER_KEY_1 } from '../keys/fixtures.js';
import { USERS, startUi } from './helpers.js';

const pgs = await startPostgres(t, { name: 'ui-admin' });
const ldap = await startLdap(t);
const { ts, browser } = await startUi(t, pgs, {
  'auth.ldap.urls': [ldap.url],
  'auth.ldap.bindDn': SERVICE_DN,
  'auth.ldap.bindPassword': SERVICE_PASSWORD,
  'auth.ldap.userBase': `ou=people,${BASE_DN}`,
  'auth.ldap.groupBase': `ou=groups,${BASE_DN}`,
  'auth.ldap.nestedGroups': true,
  'auth.ldap.roleMap': 'ops=admin,devs=user',
  'auth.throttle.maxFailuresPerUserAddress': 3,
  'keyStorage.masterKey': MASTER_KEY_1,
});

t.test('LDAP login in the browser, back to the page asked for', async (t) => {
  const page = await newPage(t, browser, ts.url);
  await loginAs(page, users.alice.uid, users.alice.password, '/audit?event=login');
  await page.getByRole('heading', { name: 'Audit' }).waitFor();
  t.match(await page.getByTestId('who').innerText(), /alice \(admin/, 'alice, admin through her LDAP group ops');
  const table = page.getByTestId('audit-table');
  await table.waitFor();
  t.match(await table.innerText(), /login\tsuccess\talice/, 'her own login in the audit trail');
});

t.test('Nodes: filter language, tags and attributes, errors with token and column', async (t) => {
  t.equal((await ts.api('POST', '/api/v1/projects', { name: 'ops' })).status, 201);
  const dir = await tempDir(t, 'nodes');
  const file = path.join(dir, 'nodes.yaml');
  writeFileSync(file, 'web1:\n  hostname: web1.example.com\n  tags: web, prod\n  osFamily: unix\n  rack: r1\nweb2:\n  hostname: web2.example.com\n  tags: [web, staging]\ndb1:\n  hostname: db1.example.com\n  tags: db\n');
  t.equal((await ts.api('PUT', '/api/v1/projects/ops/sources', { sources: [{ type: 'file', file }] })).status, 200);

  const page = await newPage(t, browser, ts.url);
  await loginAs(page, 'admin', USERS.admin.password, '/project/ops/nodes');
  await page.getByTestId('nodes-table').waitFor();
  t.match(await page.getByTestId('nodes-count').innerText(), /^4 nodes match \.\*/, 'three nodes and the server itself');
  await page.getByLabel('Node filter').fill('tags: web !tags: staging');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.getByTestId('nodes-count').filter({ hasText: /^1 node match/ }).waitFor();
  const web1 = page.getByRole('row', { name: /web1/ });
  t.match(await web1.innerText(), /web1\t\s*web\s*prod\s*\tweb1\.example\.com\tunix/, 'tags and attributes');
  t.match(await web1.innerText(), /rack\s*r1/, 'other attributes too');
  t.equal(new URL(page.url()).searchParams.get('filter'), 'tags: web !tags: staging', 'the filter is in the address, for a bookmark');
  await screenshot(page, 'nodes');

  await page.getByLabel('Node filter').fill('tags: web name:');
  await page.getByRole('button', { name: 'Filter' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  t.match(await alert.innerText(), /"name:" has no value at column 11 \("name:"\).*validation_failed, HTTP 400, field filter/s, 'the API error, token and column');
});

t.test('Key Storage: upload a password and a key, metadata only, delete', async (t) => {
  const secret = 'hunter2-never-shown';
  const page = await newPage(t, browser, ts.url);
  await loginAs(page, 'admin', USERS.admin.password, '/keys');
  await page.getByText('Nothing stored under keys.').waitFor();
  await page.getByLabel('Name', { exact: true }).fill('db-password');
  await page.getByLabel('Type', { exact: true }).selectOption('password');
  await page.getByLabel('Password', { exact: true }).fill(secret);
  t.equal(await page.getByLabel('Password', { exact: true }).getAttribute('type'), 'password', 'the password is typed into a password input');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved keys/db-password' }).waitFor();
  t.equal(await page.getByLabel('Password', { exact: true }).inputValue(), '', 'and not kept in the form');

  const dir = await tempDir(t, 'key');
  const keyFile = path.join(dir, 'id_test');
  const keyText = '-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key-but-secret\n-----END OPENSSH PRIVATE KEY-----\n';
  writeFileSync(keyFile, keyText);
  await page.getByLabel('Name', { exact: true }).fill('deploy-key');
  await page.getByLabel('Type', { exact: true }).selectOption('private');
  await page.getByLabel('Key file').setInputFiles(keyFile);
  await page.getByRole('button', { name: 'Save' }).click();
  const keyRow = page.locator('tr[data-path="keys/deploy-key"]');
  await keyRow.waitFor();
  t.match(await keyRow.innerText(), new RegExp(`private key\\t${keyText.length} bytes\\t.*\\tadmin`), 'type, size, time, user');
  t.match(await page.locator('tr[data-path="keys/db-password"]').innerText(), /password\t19 bytes/);
  const html = await page.content();
  t.notOk(html.includes(secret) || html.includes('not-a-real-key'), 'no content anywhere in the page');
  const stored = await ts.api('GET', '/api/v1/storage/keys/deploy-key');
  t.equal(stored.body.meta['Rundeck-key-type'], 'private', 'stored through the Key Storage API as a private key');

  // Same name again without "replace": the API's 409 is shown.
  await page.getByLabel('Name', { exact: true }).fill('db-password');
  await page.getByLabel('Type', { exact: true }).selectOption('password');
  await page.getByLabel('Password', { exact: true }).fill('other');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('alert').waitFor();
  t.match(await page.getByRole('alert').innerText(), /Not saved:.*HTTP 409/s, 'taken: the API says so');
  await screenshot(page, 'keys');

  await keyRow.getByRole('button', { name: 'Delete…' }).click();
  await keyRow.getByRole('button', { name: 'Delete deploy-key for good' }).click();
  await keyRow.waitFor({ state: 'detached' });
  t.equal((await ts.api('GET', '/api/v1/storage/keys/deploy-key')).status, 404, 'deleted');
});

t.test('Audit: filters and pages; "not allowed" for a user without the right', async (t) => {
  const page = await newPage(t, browser, ts.url);
  await loginAs(page, 'admin', USERS.admin.password, '/audit');
  await page.getByTestId('audit-table').waitFor();
  await page.getByLabel('Event').fill('login');
  await page.getByLabel('User', { exact: true }).fill('admin');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.getByRole('row', { name: /login/ }).first().waitFor();
  const rows = await page.locator('[data-testid="audit-table"] tbody tr').allInnerTexts();
  t.ok(rows.length >= 3, `admin's logins (${rows.length})`);
  t.ok(rows.every((r) => /\tlogin\tsuccess\tadmin\t/.test(r)), 'only login events of admin');
  t.equal(await page.getByRole('button', { name: 'Older →' }).isDisabled(), true, 'one page only');

  const viewer = await newPage(t, browser, ts.url);
  await loginAs(viewer, 'viewer', USERS.viewer.password, '/audit');
  const no = viewer.getByTestId('audit-forbidden');
  await no.waitFor();
  t.match(await no.innerText(), /Not allowed: you may not read the audit trail/);
  t.equal(await viewer.getByLabel('Event').count(), 0, 'no filter form to fill in vain');
});

t.test('throttled logins say when to try again', async (t) => {
  const page = await newPage(t, browser, ts.url);
  await page.goto('/login?next=%2Fkeys');
  for (let i = 0; i < 4; i++) {
    await page.getByLabel('User name').fill('viewer');
    await page.getByLabel('Password', { exact: true }).fill('wrong');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').waitFor();
  }
  const text = await page.getByRole('alert').innerText();
  t.match(text, /too many failed logins; try again in \d+ s\. You can try again at \d\d:\d\d:\d\d UTC\./, text);
  const res = await fetch(`${ts.url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'username=viewer&password=wrong',
  });
  t.equal(res.status, 429);
  t.match(res.headers.get('retry-after'), /^\d+$/, 'with Retry-After');
  t.equal(await page.locator('style').count(), 1, 'the form keeps its own stylesheet');
  t.equal(await page.locator('script').count(), 0, 'and no script');
});
