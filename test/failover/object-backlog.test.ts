/**
 * A planned switchover waits for the log object backlog (issue #6/#7): while
 * the passive site's bucket lacks a log object named by a replicated record,
 * the switchover does not promote it (and says why, with the backlog count);
 * once the copier has brought the object, re-running the command completes
 * it, and the promoted site serves that log. The sites use filesystem log
 * stores; the copy path (hook → pending copy → copier) is the one GCS sites use.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FsLogStore } from '../../server/logs/fs-store.js';

import { logObjectCopyHook } from '../../replicator/objects/hook.js';
import { LogObjectCopier } from '../../replicator/objects/copier.js';
import { writableUrl } from '../../server/site/connect.js';
import { objectBacklog } from '../../server/site/sql/object-backlog.js';
import { api, count, failover, startReplication, startSiteServer, startSites, waitFor, watchActive } from './helpers.js';
import { testPool } from '../harness/pool.js';
import { testLog } from '../harness/log.js';

const job = `- name: report
  sequence:
    commands:
    - exec: echo the report line
`;

t.test('planned switchover waits until the passive site has every log object', async (t) => {
  const sites = await startSites(t);
  const { a, b, token } = sites;
  startReplication(t, a, b, { hooks: [logObjectCopyHook()] });
  await startSiteServer(t, a, sites);
  await startSiteServer(t, b, sites);
  const watcher = watchActive(t, [a, b]);

  t.equal((await api(a, token, 'POST', '/api/v1/projects', { name: 'ops' })).status, 201);
  const imported = await api(a, token, 'POST', '/api/v1/projects/ops/jobs', job, { 'content-type': 'application/yaml' });
  const run = await api(a, token, 'POST', `/api/v1/jobs/${imported.body.jobs[0].id}/run`, {});
  t.equal(run.status, 201, 'the job runs on a');
  const executionId = run.body.id as string;
  await waitFor('the finished log record at b', async () => (await count(b, `tandem.log_objects where complete and execution_id = '${executionId}'`)) === 1, 20_000);

  // The record is at b, the object is not (no copier yet): that is the backlog the switchover waits for.
  const bPool = testPool(t, { connectionString: writableUrl(b.dbUrl), max: 4 });
  t.equal(await objectBacklog(bPool), 1, 'one object waiting to be copied to b');

  const lines: string[] = [];
  await t.rejects(failover(sites, { to: 'b', catchUpTimeoutMs: 2500 }, lines), { code: 'unavailable', message: /timed out .* waiting for b to apply everything up to the drain point.*Re-run the same command/s });
  t.ok(lines.some((l) => /object backlog 1\b/.test(l)), 'the plan and the progress lines show the backlog');
  t.same((await b.q(`select role from tandem_site.site`)).rows, [{ role: 'passive' }], 'b was not promoted while an object is missing');
  t.same((await a.q(`select role from tandem_site.site`)).rows, [{ role: 'fenced' }], 'a stays fenced (the run said how to complete or undo it)');

  // The copier brings the object; the backlog empties; the same command completes the switchover.
  const copier = new LogObjectCopier({
    pool: bPool,
    source: new FsLogStore({ dir: a.logsDir }),
    target: new FsLogStore({ dir: b.logsDir }),
    log: testLog,
    pollMs: 50,
  });
  copier.start();
  t.teardown(() => copier.stop());
  await waitFor('the backlog to empty', async () => (await objectBacklog(bPool)) === 0, 20_000);
  const res = await failover(sites, { to: 'b' });
  t.equal(res.outcome, 'done', 're-run completes the switchover');
  t.same((await b.q(`select role from tandem_site.site`)).rows, [{ role: 'active' }], 'b is active');

  const record = (await b.q<{ key: string; sha256: string }>(`select key, sha256 from tandem.log_objects where execution_id = $1`, [executionId])).rows[0]!;
  const copied = readFileSync(path.join(b.logsDir, record.key));
  t.equal(createHash('sha256').update(copied).digest('hex'), record.sha256, "b's store has the object, checksum as recorded");
  const out = await api(b, token, 'GET', `/api/v1/executions/${executionId}/output`);
  t.equal(out.status, 200, 'b serves the log');
  t.ok(out.body.entries.some((e: { text: string }) => e.text === 'the report line'), 'with its lines');

  await watcher.stop();
  t.same(watcher.violations, [], 'never two sites answering 200 on /health/active');
});
