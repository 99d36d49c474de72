/**
 * The order of operations on the target connection, no server
 * (replicator/apply/statement-queue.ts): the next group's begin, a COPY and
 * the previous group's commit are handed to node-pg one at a time, each only
 * after the one before returned. node-pg 8 queued them itself but printed
 * "DeprecationWarning: Calling client.query() when the client is already
 * executing a query" once per `tandem replicate` process (an error in pg 9).
 */
import t from 'tap';
import type pg from 'pg';
import { StatementQueue, type Pending } from '../../replicator/apply/statement-queue.js';

/** A stand-in connection that records what it is handed and answers only when told to. */
class HeldClient {
  readonly handed: string[] = [];
  private readonly replies: Array<(ok: boolean) => void> = [];

  query(q: unknown): Promise<unknown> {
    const name = typeof q === 'string' ? q : 'pipeline';
    this.handed.push(name);
    const submittable = q as { submit?: (c: unknown) => void; handleCommandComplete?: (m: { text: string }) => void; handleReadyForQuery?: () => void; handleError?: (e: Error) => void };
    return new Promise((resolve, reject) => {
      this.replies.push((ok) => {
        if (submittable.submit) {
          // runPipeline's submittable: one CommandComplete per statement, then ReadyForQuery (or an error).
          if (ok) {
            submittable.handleCommandComplete!({ text: 'UPDATE 1' });
            submittable.handleReadyForQuery!();
          } else submittable.handleError!(new Error('deadlock detected'));
          resolve(undefined);
        } else if (ok) resolve({ command: 'COMMIT' });
        else reject(new Error('server closed the connection unexpectedly'));
      });
    });
  }

  /** Answer the oldest operation still waiting. */
  answer(ok = true): void {
    const next = this.replies.shift();
    if (!next) throw new Error('nothing is waiting for an answer');
    next(ok);
  }
}

const update = (): Pending => ({ name: '', text: 'update t set v = 1 where k = 1', values: [], expectRows: 1, kind: 'update', context: () => ({ table: 't', change: 'update' }) });
const turn = () => new Promise((r) => setImmediate(r));

t.test('one operation at a time, in the order submitted', async (t) => {
  const client = new HeldClient();
  const q = new StatementQueue(client as unknown as pg.Client);
  const commit = q.submit(() => client.query('commit'));
  q.running(commit.then(() => undefined));
  q.push(update());
  const flushed = q.flush(); // the next group's statements, behind the running commit
  const copy = q.submit(() => client.query('copy'));
  await turn();
  t.same(client.handed, ['commit'], 'the statements wait until the commit returned');
  client.answer();
  await turn();
  t.same(client.handed, ['commit', 'pipeline'], 'then the pipeline is handed over, the COPY still waits');
  client.answer();
  await flushed;
  await turn();
  t.same(client.handed, ['commit', 'pipeline', 'copy'], 'the COPY after the pipeline returned');
  client.answer();
  t.same(await copy, { command: 'COMMIT' });
});

t.test('a failed operation does not hold up the next; settle throws the first failure', async (t) => {
  const client = new HeldClient();
  const q = new StatementQueue(client as unknown as pg.Client);
  q.push(update());
  const flushed = q.flush();
  const commit = q.submit(() => client.query('commit'));
  q.running(commit.then(() => undefined));
  await turn();
  client.answer(false);
  await t.rejects(flushed, /deadlock detected/, 'the pipeline failure, naming the change');
  await turn();
  t.same(client.handed, ['pipeline', 'commit'], 'the commit was still handed over after the failure');
  client.answer(true);
  await q.settle();
  t.same(await commit, { command: 'COMMIT' });
});
