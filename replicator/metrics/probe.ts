/**
 * Scrape-time readings of the replicator: the slot on the source (lag,
 * retained WAL, wal_status) and the target's bookkeeping and object-copy
 * backlog. It has its own small pools (one connection each), so a scrape
 * never waits behind the apply loop, and answers even while the stream is
 * reconnecting; a database that does not answer shows as `*_up 0`.
 *
 * Lag in seconds: 0 when the slot has nothing unconfirmed; else the
 * walsender's replay_lag while one is connected; else (no replicator
 * connected) the time since the source commit of the last applied
 * transaction, an upper bound that keeps growing until the stream is back.
 */
import pg from 'pg';
import { errorMessage } from '../../server/errors.js';
import type { Logger } from '../../server/log.js';
import { SharedSample } from '../../server/metrics/sample.js';
import { SOURCE_SESSION_OPTIONS } from '../stream/connection.js';
import { sourceSlotSample, type SourceSlotSample } from './sql/slot-sample.js';
import { targetSample, type TargetSample } from './sql/target-sample.js';

export interface ProbeReading {
  sourceUp: boolean;
  targetUp: boolean;
  slotExists: boolean;
  walStatus: string | null;
  lagBytes: number | null;
  lagSeconds: number | null;
  retainedBytes: number | null;
  safeWalBytes: number | null;
  copy: TargetSample['copy'];
}

export class Probe {
  private readonly source: pg.Pool;
  private readonly target: pg.Pool;
  private readonly sample: SharedSample<ProbeReading>;
  private warned = { source: false, target: false };

  constructor(private readonly o: { sourceUrl: string; targetUrl: string; slot: string; log: Logger }) {
    const common = { max: 1, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 3000, statement_timeout: 5000, application_name: 'tandem-replicator-metrics' };
    this.source = new pg.Pool({ connectionString: o.sourceUrl, options: SOURCE_SESSION_OPTIONS, ...common });
    this.target = new pg.Pool({ connectionString: o.targetUrl, ...common });
    this.source.on('error', () => undefined); // an idle connection lost: the next read reconnects (and reports it)
    this.target.on('error', () => undefined);
    this.sample = new SharedSample(() => this.readNow());
  }

  read(): Promise<ProbeReading> {
    return this.sample.get();
  }

  async close(): Promise<void> {
    await Promise.all([this.source.end(), this.target.end()]);
  }

  private async readNow(): Promise<ProbeReading> {
    const [slot, target] = await Promise.all([
      this.guard('source', () => sourceSlotSample(this.source, this.o.slot)),
      this.guard('target', () => targetSample(this.target, this.o.slot)),
    ]);
    return {
      sourceUp: slot !== null,
      targetUp: target !== null,
      slotExists: slot?.exists ?? false,
      walStatus: slot?.walStatus ?? null,
      lagBytes: slot?.lagBytes ?? null,
      lagSeconds: lagSeconds(slot, target),
      retainedBytes: slot?.retainedBytes ?? null,
      safeWalBytes: slot?.safeWalBytes ?? null,
      copy: target?.copy ?? null,
    };
  }

  /** A failed read is reported once per outage in the log, and as `*_up 0` on every scrape. */
  private async guard<T>(side: 'source' | 'target', read: () => Promise<T>): Promise<T | null> {
    try {
      const v = await read();
      this.warned[side] = false;
      return v;
    } catch (e) {
      if (!this.warned[side]) this.o.log.warn(`metrics: cannot read the ${side} database`, { error: errorMessage(e) });
      this.warned[side] = true;
      return null;
    }
  }
}

function lagSeconds(slot: SourceSlotSample | null, target: TargetSample | null): number | null {
  if (!slot?.exists || slot.lagBytes === null) return null;
  if (slot.lagBytes === 0) return 0;
  if (slot.active && slot.replayLagSeconds !== null) return slot.replayLagSeconds;
  const t = target?.lastCommitTime;
  return t ? Math.max(0, (Date.now() - t.getTime()) / 1000) : null;
}
