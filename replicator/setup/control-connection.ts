/**
 * The replicator's control session to the source or the target (set-up
 * checks, slot health, state rows, sequence copies). It outlives the
 * streaming sessions, so it must survive what they survive: when its
 * connection is lost (a database restart) it is replaced by a new one at the
 * start of the next streaming session, instead of failing every retry with
 * "Client has encountered a connection error and is not queryable".
 */
import pg from 'pg';
import type { Logger } from '../../server/log.js';
import { watchClient } from './peer-timeout.js';

export class ControlConnection {
  client: pg.Client;
  private broken = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly log: Logger,
    private readonly label: 'source' | 'target',
  ) {
    this.client = this.make();
  }

  private make(): pg.Client {
    const c = watchClient(new pg.Client(this.config));
    // Without a listener the event would crash the process; the next query on it fails and renew() replaces it.
    c.on('error', (e) => {
      this.broken = true;
      this.log.warn(`${this.label} control connection error`, { error: e });
    });
    return c;
  }

  async connect(): Promise<void> {
    try {
      await this.client.connect();
    } catch (e) {
      this.broken = true;
      throw e;
    }
  }

  /** Replace a lost connection with a new one (a failure to connect is a connection error: retried). */
  async renew(): Promise<void> {
    if (!this.broken) return;
    const old = this.client;
    this.client = this.make();
    this.broken = false;
    await old.end().catch(() => undefined);
    await this.connect();
  }

  async end(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}
