/**
 * Execution log metrics: lines written (counted by wrapping the store's
 * writers, so no store needs to know about metrics), failed uploads of the
 * GCS store (retried by its uploader), and the spool's size and backlog, read
 * from the store at scrape time when it has a spool.
 */
import client from 'prom-client';
import type { LogStore, LogWriter } from '../logs/store.js';
import type { Registry } from './registry.js';

/** What the GCS uploader reports. */
export interface UploadMetrics {
  /** An upload attempt failed; the log stays in the spool and is retried. */
  uploadFailed(): void;
}

/** The part of the GCS store's `spoolUsage()` read here (other stores have no spool). */
interface SpoolUsageSource {
  spoolUsage(): { bytes: number; pendingBytes: number; pendingUploads: number; conflicts: string[] };
}

function hasSpool(store: LogStore): store is LogStore & SpoolUsageSource {
  return typeof (store as Partial<SpoolUsageSource>).spoolUsage === 'function';
}

export class LogMetrics implements UploadMetrics {
  private readonly lines: client.Counter;
  private readonly uploadFailures: client.Counter;
  private store: LogStore | null = null;

  constructor(registry: Registry) {
    const metrics = this;
    this.lines = new client.Counter({
      name: 'tandem_log_lines_written_total',
      help: 'Execution log lines appended on this member.',
      registers: [registry],
    });
    this.uploadFailures = new client.Counter({
      name: 'tandem_log_upload_failures_total',
      help: 'Failed uploads of execution logs to the bucket (each is retried with backoff; the log stays in the spool).',
      registers: [registry],
    });
    const spool = (name: string, help: string, pick: (u: ReturnType<SpoolUsageSource['spoolUsage']>) => number) =>
      new client.Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          const s = metrics.store;
          this.set(s && hasSpool(s) ? pick(s.spoolUsage()) : 0);
        },
      });
    spool('tandem_log_spool_bytes', 'Bytes of execution logs in the local spool.', (u) => u.bytes);
    spool('tandem_log_spool_pending_bytes', 'Bytes in the spool not yet uploaded to the bucket.', (u) => u.pendingBytes);
    spool('tandem_log_spool_pending_uploads', 'Logs in the spool with an upload still to do.', (u) => u.pendingUploads);
    spool('tandem_log_upload_conflicts', 'Logs this member stopped uploading because another writer replaced them.', (u) => u.conflicts.length);
  }

  uploadFailed(): void {
    this.uploadFailures.inc();
  }

  /**
   * The store to use everywhere: the same object's behaviour, with each
   * writer's `append` counted. Methods are bound to the real store, so its
   * own `this` is never the wrapper.
   */
  instrument(store: LogStore): LogStore {
    this.store = store;
    const lines = this.lines;
    return new Proxy(store, {
      get(target, prop) {
        if (prop === 'open') {
          return async (key: string): Promise<LogWriter> => countingWriter(await target.open(key), () => lines.inc());
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }
}

function countingWriter(w: LogWriter, counted: () => void): LogWriter {
  return new Proxy(w, {
    get(target, prop) {
      if (prop === 'append') {
        return (entry: Parameters<LogWriter['append']>[0]) => {
          target.append(entry);
          counted();
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
