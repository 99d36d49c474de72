import t from 'tap';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { once } from 'node:events';
import path from 'node:path';
import { startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';
import { readOutput, startTestServer, waitFor, waitForEnd, type TestServer } from './helpers.js';

/** A process is gone when it no longer exists or is a zombie waiting for init to reap it. */
function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

async function importJob(ts: TestServer, job: Record<string, unknown>): Promise<string> {
  const r = await ts.api('POST', '/api/v1/projects/ops/jobs', [job]);
  if (r.status !== 201) throw new Error(`import failed: ${r.text}`);
  return r.body.jobs[0].id;
}

t.test('executions', async (t) => {
  const pg = await startPostgres(t, { name: 'exec' });
  const ts = await startTestServer(t, pg);
  await ts.api('POST', '/api/v1/projects', { name: 'ops' });
  const scratch = await tempDir(t, 'scratch');

  await t.test('abort kills the whole process tree of the running step', async (t) => {
    const id = await importJob(ts, {
      name: 'tree',
      sequence: {
        commands: [{ exec: `sh -c 'sleep 300 & echo "grandchild $!"; sleep 300' & echo "child $!"; sleep 300 & echo "child $!"; wait` }],
      },
    });
    const run = await ts.api('POST', `/api/v1/jobs/${id}/run`, {});
    t.equal(run.status, 201);
    const pids = await waitFor('the step to report its children', async () => {
      const out = await ts.api('GET', `/api/v1/executions/${run.body.id}/output`);
      const found = out.body.entries.filter((e: any) => /^(grand)?child \d+$/.test(e.text)).map((e: any) => Number(e.text.split(' ')[1]));
      return found.length === 3 ? (found as number[]) : undefined;
    });
    t.ok(pids.every((p) => !processGone(p)), 'the tree is running');
    const abort = await ts.api('POST', `/api/v1/executions/${run.body.id}/abort`);
    t.equal(abort.status, 202);
    t.same(abort.body.abortRequested.by, 'admin');
    const done = await waitForEnd(ts, run.body.id);
    t.equal(done.status, 'aborted');
    t.equal(done.statusReason, 'aborted by admin');
    t.equal(done.steps[0].status, 'aborted');
    await waitFor('every process of the tree to be gone', async () => pids.every(processGone));
    t.pass('child and grandchild processes were killed');
    const again = await ts.api('POST', `/api/v1/executions/${run.body.id}/abort`);
    t.equal(again.status, 409, 'aborting an ended execution is a conflict');
    const out = await readOutput(ts, run.body.id);
    t.match(out[out.length - 1].text, /execution aborted/);
  });

  await t.test('timeout kills the step and ends the execution as timedout', async (t) => {
    const pidFile = path.join(scratch, 'timeout.pid');
    const id = await importJob(ts, {
      name: 'slow',
      timeout: '1s',
      sequence: { commands: [{ exec: `sleep 120 & echo $! > ${pidFile}; wait` }, { exec: 'echo never' }] },
    });
    const run = await ts.api('POST', `/api/v1/jobs/${id}/run`, {});
    const done = await waitForEnd(ts, run.body.id);
    t.equal(done.status, 'timedout');
    t.equal(done.statusReason, 'timed out after 1s');
    t.same(done.steps.map((s: any) => [s.step, s.status]), [['1', 'timedout']], 'the next step never ran');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await waitFor('the sleeping child to be gone', async () => processGone(pid));
    t.pass('the child of the timed-out step was killed');
  });

  await t.test('retry: a failing job is retried as new executions until it succeeds', async (t) => {
    const counter = path.join(scratch, 'retry.count');
    const id = await importJob(ts, {
      name: 'flaky',
      retry: { retry: '3', delay: '0s' },
      sequence: { commands: [{ exec: `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; echo "attempt $n"; [ $n -ge 3 ]` }] },
    });
    const run = await ts.api('POST', `/api/v1/jobs/${id}/run`, {});
    const all = await waitFor('three attempts, the last one successful', async () => {
      const r = await ts.api('GET', `/api/v1/projects/ops/executions?jobId=${id}`);
      const ex = r.body.executions as any[];
      return ex.length === 3 && ex.every((e) => ['succeeded', 'failed'].includes(e.status)) ? ex : undefined;
    });
    const byAttempt = all.sort((a, b) => a.attempt - b.attempt);
    t.same(byAttempt.map((e) => [e.attempt, e.status, e.trigger]), [[1, 'failed', 'user'], [2, 'failed', 'retry'], [3, 'succeeded', 'retry']]);
    t.same(byAttempt.slice(1).map((e) => e.retryOf), [run.body.id, run.body.id], 'retries point at the original execution');
    // No fourth attempt after a success.
    t.equal(readFileSync(counter, 'utf8').trim(), '3');
  });

  await t.test('retry stops after the configured count', async (t) => {
    const id = await importJob(ts, { name: 'always-fails', retry: '1', sequence: { commands: [{ exec: 'exit 3' }] } });
    await ts.api('POST', `/api/v1/jobs/${id}/run`, {});
    const all = await waitFor('two failed attempts', async () => {
      const r = await ts.api('GET', `/api/v1/projects/ops/executions?jobId=${id}`);
      const ex = r.body.executions as any[];
      return ex.length === 2 && ex.every((e) => e.status === 'failed') ? ex : undefined;
    });
    t.same(all.map((e) => e.statusReason), ['step 1 failed (exit code 3)', 'step 1 failed (exit code 3)']);
    await waitFor('the engine to be idle', async () => ts.server.engine.runningIds().length === 0);
    const r = await ts.api('GET', `/api/v1/projects/ops/executions?jobId=${id}`);
    t.equal(r.body.total, 2, 'retry: 1 means one more attempt, no more');
  });

  await t.test('multipleExecutions: false holds across concurrent requests', async (t) => {
    const id = await importJob(ts, { name: 'single', multipleExecutions: false, sequence: { commands: [{ exec: 'sleep 30' }] } });
    const results = await Promise.all(Array.from({ length: 12 }, () => ts.api('POST', `/api/v1/jobs/${id}/run`, {})));
    const ok = results.filter((r) => r.status === 201);
    t.equal(ok.length, 1, 'exactly one of 12 concurrent runs is accepted');
    t.ok(results.filter((r) => r.status === 409).every((r) => r.body.error.code === 'conflict'), 'the others get 409');
    t.equal(results.filter((r) => r.status === 409).length, 11);
    await ts.api('POST', `/api/v1/executions/${ok[0]!.body.id}/abort`);
    await waitForEnd(ts, ok[0]!.body.id);
    const next = await ts.api('POST', `/api/v1/jobs/${id}/run`, {});
    t.equal(next.status, 201, 'once it ended, the job runs again');
    await ts.api('POST', `/api/v1/executions/${next.body.id}/abort`);
    await waitForEnd(ts, next.body.id);

    const multi = await importJob(ts, { name: 'multi', multipleExecutions: true, sequence: { commands: [{ exec: 'true' }] } });
    const many = await Promise.all(Array.from({ length: 4 }, () => ts.api('POST', `/api/v1/jobs/${multi}/run`, {})));
    t.same(many.map((r) => r.status), [201, 201, 201, 201], 'multipleExecutions: true accepts them all');
    for (const r of many) await waitForEnd(ts, r.body.id);
  });

  await t.test('keepgoing runs the remaining steps and fails at the end; executionEnabled false refuses runs', async (t) => {
    const id = await importJob(ts, { name: 'keepgoing', sequence: { keepgoing: true, commands: [{ exec: 'exit 1' }, { exec: 'echo second' }] } });
    const run = await ts.api('POST', `/api/v1/jobs/${id}/run`, {});
    const done = await waitForEnd(ts, run.body.id);
    t.equal(done.status, 'failed');
    t.same(done.steps.map((s: any) => [s.step, s.status, s.exitCode]), [['1', 'failed', 1], ['2', 'succeeded', 0]]);
    const off = await importJob(ts, { name: 'disabled', executionEnabled: false, sequence: { commands: [{ exec: 'true' }] } });
    const refused = await ts.api('POST', `/api/v1/jobs/${off}/run`, {});
    t.same([refused.status, refused.body.error.code], [409, 'conflict']);
  });

  await t.test('webhook notifications on start, success and failure', async (t) => {
    const received: { path: string; body: any }[] = [];
    const hook = createServer((req, res) => {
      let data = '';
      req.on('data', (c) => (data += c));
      req.on('end', () => {
        received.push({ path: req.url!, body: JSON.parse(data) });
        res.end('ok');
      });
    });
    hook.listen(0, '127.0.0.1');
    await once(hook, 'listening');
    t.teardown(() => new Promise<void>((r) => hook.close(() => r())));
    const base = `http://127.0.0.1:${(hook.address() as { port: number }).port}`;
    const notification = { onstart: { urls: `${base}/start` }, onsuccess: { urls: `${base}/success` }, onfailure: { urls: `${base}/failure` } };
    const ok = await importJob(ts, { name: 'notified-ok', notification, sequence: { commands: [{ exec: 'true' }] } });
    const bad = await importJob(ts, { name: 'notified-bad', notification, sequence: { commands: [{ exec: 'false' }] } });
    const r1 = await ts.api('POST', `/api/v1/jobs/${ok}/run`, {});
    const r2 = await ts.api('POST', `/api/v1/jobs/${bad}/run`, {});
    await waitFor('four webhook calls', async () => received.length >= 4);
    const seen = received.map((r) => `${r.path} ${r.body.execution.id === r1.body.id ? 'ok' : r.body.execution.id === r2.body.id ? 'bad' : '?'} ${r.body.execution.status}`).sort();
    t.same(seen, ['/failure bad failed', '/start bad running', '/start ok running', '/success ok succeeded']);
  });

  await t.test('a missing job reference fails the step with a reason', async (t) => {
    const id = await importJob(ts, { name: 'dangling', sequence: { commands: [{ jobref: { name: 'nowhere', group: 'x' } }] } });
    const run = await ts.api('POST', `/api/v1/jobs/${id}/run`, {});
    const done = await waitForEnd(ts, run.body.id);
    t.equal(done.status, 'failed');
    t.match(done.statusReason, /referenced job x\/nowhere not found/);
  });
});
