import t from 'tap';
import { startPostgres } from '../harness/postgres.js';
import { startTestServer, waitFor, waitForEnd } from './helpers.js';

t.test('two members on one database', async (t) => {
  const pg = await startPostgres(t, { name: 'members' });
  const a = await startTestServer(t, pg, { overrides: { 'server.memberName': 'member-a' } });
  const b = await startTestServer(t, pg, { dbUrl: a.dbUrl, overrides: { 'server.memberName': 'member-b' } });
  await a.api('POST', '/api/v1/projects', { name: 'ops' });
  const imp = await a.api('POST', '/api/v1/projects/ops/jobs', [{ name: 'wait', sequence: { commands: [{ exec: 'echo started; sleep 120' }] } }]);
  const jobId = imp.body.jobs[0].id;

  await t.test('an abort sent to another member kills the execution where it runs', async (t) => {
    const run = await a.api('POST', `/api/v1/jobs/${jobId}/run`, {});
    t.equal(run.body.member, 'member-a');
    await waitFor('running on member-a', async () => (await b.api('GET', `/api/v1/executions/${run.body.id}`)).body.status === 'running');
    const abort = await b.api('POST', `/api/v1/executions/${run.body.id}/abort`);
    t.equal(abort.status, 202, 'member-b accepts the abort');
    const done = await waitForEnd(b, run.body.id);
    t.equal(done.status, 'aborted', 'member-a saw the request and killed its step');
    t.equal(done.member, 'member-a');
  });

  await t.test("a member's restart recovery leaves the other member's executions alone", async (t) => {
    const run = await a.api('POST', `/api/v1/jobs/${jobId}/run`, {});
    await waitFor('running on member-a', async () => (await a.api('GET', `/api/v1/executions/${run.body.id}`)).body.status === 'running');
    // A third process with member-b's name starts (as after a crash of member-b): it closes only member-b's leftovers.
    const b2 = await startTestServer(t, pg, { dbUrl: a.dbUrl, overrides: { 'server.memberName': 'member-b' } });
    t.equal((await b2.api('GET', `/api/v1/executions/${run.body.id}`)).body.status, 'running', 'still running');
    await a.api('POST', `/api/v1/executions/${run.body.id}/abort`);
    t.equal((await waitForEnd(a, run.body.id)).status, 'aborted');
  });
});
