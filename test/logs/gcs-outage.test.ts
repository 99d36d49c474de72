/**
 * A 30 s outage of the bucket (503s, then hanging requests, then dropped
 * connections) while 20 executions write their logs: no line is lost, the
 * executing member serves every line from its spool meanwhile, and once the
 * bucket is back every log reaches it complete and in order.
 */
import t from 'tap';
import { createLogger } from '../../server/log.js';
import type { LogWriter } from '../../server/logs/store.js';
import { entry, member, readAll, setup, waitFor } from './gcs-helpers.js';

const WRITERS = 20;
const OUTAGE_PHASE_MS = 10_000; // three phases: 30 s in all
// Deliberate pacing, not a wait: each writer appends a line this often, as a chatty step would.
const LINE_INTERVAL_MS = 20;
// How often the spool is read during the outage (the outage itself lasts its full, named time).
const SPOOL_CHECK_EVERY_MS = 500;

t.test('store outage of 30 s during 20 running writers loses no line', async (t) => {
  const gcs = await setup(t);
  const lines: string[] = [];
  const log = createLogger({}, { level: 'info', format: 'json', write: (l) => lines.push(l) });
  const a = await member(t, gcs, { name: 'a', log, retryMaxMs: 2000, requestTimeoutMs: 1000 });
  const b = await member(t, gcs, { name: 'b' });

  const keys = Array.from({ length: WRITERS }, (_, i) => `p/exec-${i}.log`);
  const writers: LogWriter[] = await Promise.all(keys.map((k) => a.open(k)));
  const written = keys.map(() => 0);
  let stop = false;
  // Each writer appends a numbered line every LINE_INTERVAL_MS.
  const producing = Promise.all(
    writers.map(async (w, i) => {
      while (!stop) {
        w.append(entry(`w${i} line ${written[i]}`));
        written[i]!++;
        await new Promise((r) => setTimeout(r, LINE_INTERVAL_MS));
      }
    }),
  );
  t.teardown(() => {
    stop = true;
  });

  await waitFor('checkpoints before the outage', async () => (await b.read(keys[0]!, 0)).entries.length > 10);
  const before = written.reduce((s, n) => s + n, 0);

  const phases = [{ status503: 'always' as const }, { hang: true }, { dropConnections: 'always' as const }];
  for (const fault of phases) {
    gcs.faults.set(fault);
    const phaseStart = Date.now();
    // The outage lasts its full time (what is tested is a long outage, so this
    // is a deliberate window, observed throughout): meanwhile the executing
    // member keeps serving the freshest lines.
    while (Date.now() - phaseStart < OUTAGE_PHASE_MS) {
      await new Promise((r) => setTimeout(r, SPOOL_CHECK_EVERY_MS));
      const r = await readAll(a, keys[5]!);
      if (r.texts.length < written[5]! - 40) t.fail(`spool read lags: ${r.texts.length} of ${written[5]} lines`);
    }
  }
  const usage = a.spoolUsage();
  t.equal(usage.pendingUploads, WRITERS, 'every running log has lines waiting for the bucket');
  t.ok(usage.pendingBytes > 0 && usage.lastError, `pending bytes and the last error are reported (${usage.pendingBytes} bytes)`);
  const duringOutage = written.reduce((s, n) => s + n, 0) - before;
  t.ok(duringOutage > WRITERS * 100, `lines were written during the outage (${duringOutage})`);
  t.ok(gcs.counters.injected503 > 0 && gcs.counters.hung > 0 && gcs.counters.dropped > 0, 'all three kinds of failure were met');

  gcs.faults.clear();
  // Writers keep going after the store is back: until the uploader says it
  // resumed and every writer has appended lines since.
  const atRecovery = [...written];
  await waitFor('log uploads resumed, with every writer appending after it', () =>
    lines.some((l) => l.includes('log uploads resumed')) && written.every((n, i) => n > atRecovery[i]! + 5),
  );
  stop = true;
  await producing;
  const infos = await Promise.all(writers.map((w) => w.finish()));
  await a.drain(60_000);

  let total = 0;
  for (let i = 0; i < WRITERS; i++) {
    const r = await readAll(b, keys[i]!);
    const expected = Array.from({ length: written[i]! }, (_, n) => `w${i} line ${n}`);
    if (JSON.stringify(r.texts) !== JSON.stringify(expected)) t.fail(`log ${keys[i]} differs: ${r.texts.length} of ${expected.length} lines`);
    t.equal(r.complete, true, `${keys[i]} complete`);
    t.equal(r.size, infos[i]!.size, `${keys[i]} size`);
    total += r.texts.length;
  }
  t.equal(total, written.reduce((s, n) => s + n, 0), `every line is in the bucket (${total} lines)`);
  t.same(a.spoolUsage().pendingUploads, 0, 'nothing left to upload');
  t.ok(lines.some((l) => l.includes('log upload failed; kept in the spool, retrying')), 'failures were logged');
  t.ok(lines.some((l) => l.includes('log uploads resumed')), 'recovery was logged');
});
