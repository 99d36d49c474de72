/**
 * Several prepared statements sent in one round trip (extended protocol:
 * Parse/Bind/Execute for each, then one Sync), as PostgreSQL's own apply
 * worker effectively does by running inside the server. node-pg sends one
 * statement per round trip; a batch of small changes would then cost one
 * network round trip each. This is a node-pg "submittable": the client's
 * queue still serialises it with other queries.
 *
 * The statements run in order in the open transaction. After an error the
 * server skips the rest until Sync; `failedIndex` says which statement failed
 * (the number of statements that completed before it). A statement with an
 * empty name is parsed (and so planned) anew each time; the first column of
 * the rows a statement returns is kept (`returned`).
 */
import type pg from 'pg';

export interface PipelineStatement {
  /** '' = unnamed: parsed and planned for these values. */
  name: string;
  text: string;
  /** A Buffer is bound in binary format (read by the type's receive function), a string in text format. */
  values: (string | Buffer | null)[];
}

export interface PipelineResult {
  /** Rows affected by each statement that completed, in order. */
  rowCounts: number[];
  /** The command tag of each statement that completed, in order (`UPDATE 1`, `COMMIT`, or `ROLLBACK` for a failed transaction's commit). */
  commands: string[];
  /** First column of the rows each statement returned (by statement index; absent when none). */
  returned: (string | null)[][];
  error?: Error & { failedIndex?: number };
}

interface ConnectionInternals {
  parsedStatements: Record<string, string>;
  stream: { cork?: () => void; uncork?: () => void };
  parse(o: { text: string; name: string; types?: number[] }): void;
  bind(o: { statement: string; values: (string | Buffer | null)[]; portal?: string }): void;
  execute(o: { portal: string; rows: number }): void;
  sync(): void;
}

class PipelineBatch {
  private readonly rowCounts: number[] = [];
  private readonly commands: string[] = [];
  private readonly returned: (string | null)[][] = [];
  private error: (Error & { failedIndex?: number }) | undefined;
  private resolve!: (r: PipelineResult) => void;
  readonly done: Promise<PipelineResult>;

  constructor(private readonly statements: PipelineStatement[]) {
    this.done = new Promise((r) => (this.resolve = r));
  }

  submit(connection: ConnectionInternals): null {
    connection.stream.cork?.();
    try {
      for (const s of this.statements) {
        if (s.name === '') connection.parse({ text: s.text, name: '' });
        else if (connection.parsedStatements[s.name] === undefined) {
          connection.parse({ text: s.text, name: s.name });
          // Recorded now: node-pg only records parses of its own named queries. After an error the
          // session is abandoned (the replicator stops), so an unparsed name is never reused.
          connection.parsedStatements[s.name] = s.text;
        }
        connection.bind({ statement: s.name, values: s.values });
        connection.execute({ portal: '', rows: 0 });
      }
      connection.sync();
    } finally {
      connection.stream.uncork?.();
    }
    return null;
  }

  handleCommandComplete(msg: { text: string }): void {
    const m = /(\d+)$/.exec(msg.text);
    this.rowCounts.push(m ? Number(m[1]) : 0);
    this.commands.push(msg.text);
  }

  handleError(err: Error): void {
    if (!this.error) {
      this.error = Object.assign(err, { failedIndex: this.rowCounts.length });
    }
    // node-pg detaches the active query on an error (its ReadyForQuery then goes to nobody): finish now.
    this.resolve({ rowCounts: this.rowCounts, commands: this.commands, returned: this.returned, error: this.error });
  }

  handleReadyForQuery(): void {
    this.resolve({ rowCounts: this.rowCounts, commands: this.commands, returned: this.returned, error: this.error });
  }

  handleRowDescription(): void {}
  handleDataRow(msg: { fields: (string | null)[] }): void {
    const i = this.rowCounts.length;
    (this.returned[i] ??= []).push(msg.fields[0] ?? null);
  }
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(connection: { sendCopyFail(msg: string): void }): void {
    connection.sendCopyFail('COPY is not allowed in a pipeline');
  }
  handleCopyData(): void {}
}

export async function runPipeline(client: pg.ClientBase, statements: PipelineStatement[]): Promise<PipelineResult> {
  const batch = new PipelineBatch(statements);
  // A submittable: node-pg calls submit() when the connection is free and routes the replies to it.
  (client as unknown as { query(q: unknown): unknown }).query(batch);
  return batch.done;
}
