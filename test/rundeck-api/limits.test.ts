/**
 * The Rundeck API's lists, exports, imports and log reads go through the
 * member's one heavy-request gate (server/http/heavy-requests.ts), the same
 * counter as /api/v1's: beyond `server.maxHeavyRequests` they answer 429
 * with Retry-After in Rundeck's error shape, and everything else is served.
 * Own server: the cap here is 1, which the contract tests must not share.
 */
import t from 'tap';
import http from 'node:http';
import { startPostgres } from '../harness/postgres.js';
import { startTestServer, waitFor } from '../server/helpers.js';
import { rundeckClient } from './helpers.js';

t.test('heavy-request gate on the Rundeck API, shared with /api/v1', async (t) => {
  const pg = await startPostgres(t, { name: 'rdapi-limits' });
  const ts = await startTestServer(t, pg, { overrides: { 'server.maxHeavyRequests': 1 } });
  const rd = rundeckClient(ts);
  t.equal((await rd('POST', '/projects', { body: { name: 'ops' } })).status, 201);
  t.equal((await rd('GET', '/project/ops/jobs')).status, 200, 'under the cap');

  // Hold the one slot: a job import whose body never finishes arriving. The slot of an answered request is given
  // back when its response closes, which may come just after the client has the answer: an import that met that
  // slot is answered 429 at once, and is then sent again.
  const url = new URL(`${ts.url}/api/47/project/ops/jobs/import`);
  let held!: http.ClientRequest;
  let heldAnswered = false;
  const hold = () => {
    heldAnswered = false;
    held = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'x-rundeck-auth-token': ts.token, 'content-type': 'application/yaml', 'content-length': '100000' } });
    held.on('response', (res) => {
      heldAnswered = true;
      res.resume();
    });
    held.on('error', () => {}); // destroyed below, on purpose
    held.write('- name: partial\n');
  };
  hold();
  t.teardown(() => held.destroy());

  const refused = await waitFor('a list refused while the import holds the slot', async () => {
    if (heldAnswered) {
      held.destroy();
      hold();
      return undefined;
    }
    const r = await rd('GET', '/project/ops/jobs');
    return r.status === 429 && !heldAnswered ? r : undefined;
  });
  t.same([refused.body.error, refused.body.errorCode, refused.body.apiversion], [true, 'api.error.invalid.request', 47], "Rundeck's error shape");
  t.equal(refused.headers.get('retry-after'), '1');
  for (const p of ['/project/ops/executions', '/project/ops/resources', '/project/ops/jobs/export']) t.equal((await rd('GET', p)).status, 429, p);
  t.equal((await ts.api('GET', '/api/v1/projects/ops/jobs')).status, 429, "/api/v1's lists share the counter");
  t.equal((await rd('GET', '/system/info')).status, 200, 'other requests are served');
  t.equal((await rd('GET', '/project/ops')).status, 200);

  held.destroy();
  await waitFor('the slot released when the held request goes away', async () => (await rd('GET', '/project/ops/jobs')).status === 200);
  t.pass('served again');
});
