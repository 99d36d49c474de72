/** `tandem replicate`: run the replicator at a passive site. */
import v8 from 'node:v8';
import { writableUrl } from '../../server/site/connect.js';
import { requireKeys } from '../../server/config/load.js';
import type { Command } from '../../server/cli/command.js';
import { runReplicator } from '../run.js';
import { defaultSlotName } from '../slot-name.js';
import { withReplicatorMetrics } from '../metrics/run-with-metrics.js';
import { applyScheduling } from '../setup/scheduling.js';

export const replicateCommand: Command = {
  help: `
Usage: tandem replicate --source URL --target URL [--schema NAME]... [--slot NAME]
                        [--publication NAME] [--application-name NAME]
                        [--until-caught-up] [--resync] [--metrics-port N [--metrics-host ADDR]]
                        [--skip-transaction LSN] [--row-by-row] [--text]

Runs at a passive site. On the source it creates (when absent) a publication
for the schemas and a logical replication slot named after this site; on the
target it keeps its progress in schema tandem_site. The first run copies the
existing rows from a consistent snapshot, then streams every change. Each
source transaction is applied exactly once, in one target transaction; the
source keeps its WAL until the target has committed it. It reconnects on
connection errors and stops on a change it cannot apply (see
"tandem replication status" for the error and the change).

With gcs.sourceBucket set (the active site's log bucket), it also copies the
execution log objects that replicated rows name into this site's log store
(gcs.bucket, or logs.dir for the filesystem store), verified by checksum.

Flags:
  --source URL             active site's database (replication.source, TANDEM_REPLICATION_SOURCE)
  --target URL             this site's database (replication.target, TANDEM_REPLICATION_TARGET)
  --schema NAME            schema to replicate; repeat for several (default: tandem)
  --slot NAME              replication slot (default: tandem_<site>, from the target)
  --publication NAME       publication on the source (default: tandem_pub)
  --application-name NAME  name the source sees; list it in the source's
                           synchronous_standby_names for synchronous (zero-loss) mode
  --until-caught-up        exit 0 once everything committed on the source before
                           the start is committed on the target
  --resync                 rebuild the target tables from a new snapshot (after
                           the slot was lost or dropped)
  --skip-transaction LSN   do not apply the source transaction with this commit LSN
                           (the one a stopped replicator names); its changes are then
                           missing on this site. For an operator who accepts that loss
                           after a "bug or unsupported case" stop; recorded on the
                           target and shown by \`tandem replication status\`
  --row-by-row             apply each change with its own statement (no set-based
                           batches): slower; names the exact failing transaction when a
                           set-based statement failed
  --text                   values travel as text (replication.binary: false). By default
                           they travel in their types' binary send/receive format, as
                           with CREATE SUBSCRIPTION ... WITH (binary = true): less CPU on
                           both databases and here. A column of another type on the
                           target is read as the source's type and cast; a source type
                           the target lacks stops with exit 4, naming the column: use
                           --text then
  --metrics-port N         serve Prometheus metrics at http://HOST:N/metrics (lag,
                           retained WAL, applied rows, object copy backlog, ...)
  --metrics-host ADDR      address of the metrics listener (default 127.0.0.1)

Exit status: 0 caught up or stopped by a signal, 2 bad --skip-transaction, 3 bad
set-up, 4 a change could not be applied, 5 the slot was lost (run again with --resync).

Example:
  tandem replicate --source postgres://replicator@db-a:5432/tandem \\
                   --target postgres://tandem@db-b:5432/tandem --until-caught-up
  tandem replicate --config /etc/tandem/tandem.yaml --metrics-port 9464 --metrics-host 0.0.0.0
  tandem replicate --config /etc/tandem/tandem.yaml --skip-transaction 0/1E8A250
`,
  flags: {
    schema: { type: 'string', multiple: true },
    'until-caught-up': { type: 'boolean' },
    resync: { type: 'boolean' },
    'skip-transaction': { type: 'string' },
    'row-by-row': { type: 'boolean' },
    text: { type: 'boolean' },
  },
  configFlags: {
    source: 'replication.source',
    target: 'replication.target',
    slot: 'replication.slot',
    publication: 'replication.publication',
    'application-name': 'replication.applicationName',
    'metrics-port': 'metrics.port',
    'metrics-host': 'metrics.host',
  },
  async run(ctx) {
    // The replicator's live heap is ~15-20 MB, but rows that wait for the target are promoted and die in
    // the old generation, which V8 lets grow to about four times the live size before marking: a
    // 5,000,000-row transaction peaked at 150 MB RSS. Marking at 1.3 times keeps it at ~115 MB
    // (measured; replicator/docs/performance.md, "Memory"). Read at each collection, so it applies from here.
    v8.setFlagsFromString('--heap-growing-percent=30');
    // And the young generation: every scavenge's survivors count towards doubling it, so a long catch-up
    // ends with it at V8's maximum (2 x 16 MB semi-spaces), as fast as the rows now stream: the
    // 5,000,000-row transaction peaked at 132 MB. Not growing it keeps that at ~90 MB without a loss
    // of throughput (measured; performance.md, "Memory"). Read at each growth, so it applies from here.
    v8.setFlagsFromString('--semi-space-growth-factor=1');
    const cfg = ctx.config();
    requireKeys(cfg, ['replication.source', 'replication.target']);
    const r = cfg.replication;
    const schemas = (ctx.values.schema as string[] | undefined)?.length ? (ctx.values.schema as string[]) : r.schemas;
    const slot = r.slot ?? defaultSlotName(r.target!, cfg.site);
    const untilCaughtUp = ctx.values['until-caught-up'] === true;
    const log = cfg.site ? ctx.log.child({ site: cfg.site }) : ctx.log;
    const listen = cfg.metrics.port === undefined ? null : { host: cfg.metrics.host, port: cfg.metrics.port };
    // Before the replicator starts: the threads it creates inherit the policy (scheduling.ts says why batch).
    const scheduling = await applyScheduling(r.scheduling);
    if ('reason' in scheduling) log.warn(`runs under the normal CPU scheduling policy, not ${scheduling.wanted}: ${scheduling.reason}`, { scheduling: scheduling.policy });
    else log.debug('CPU scheduling policy', { scheduling: scheduling.policy });
    // The target is a passive site whose database defaults to read-only
    // transactions for the application; the replicator's own sessions write.
    const targetUrl = writableUrl(r.target!);
    // The log object copier brings @google-cloud/storage (~20 MB RSS and a
    // noticeable share of the start-up): imported only when configured.
    const objects = cfg.gcs.sourceBucket ? await (await import('../objects/service.js')).startLogObjectReplication({ config: cfg, log }) : null;
    const res = await withReplicatorMetrics({ listen, sourceUrl: r.source!, targetUrl, slot, log }, (metrics) => runReplicator({
      sourceUrl: r.source!,
      targetUrl,
      schemas,
      slot,
      publication: r.publication,
      applicationName: r.applicationName,
      untilCaughtUp,
      resync: ctx.values.resync === true,
      skipTransaction: ctx.values['skip-transaction'] as string | undefined,
      rowByRow: ctx.values['row-by-row'] === true,
      binary: ctx.values.text === true ? false : r.binary,
      walWarnBytes: r.walWarnBytes,
      sequenceSyncIntervalMs: r.sequenceSyncInterval,
      log,
      signal: ctx.signal,
      metrics,
      hooks: objects ? [objects.hook] : undefined,
    })).finally(() => objects?.stop());
    // Reconnects (lost connections, restarts of either database) are also counted live in tandem_replicator_reconnects_total.
    const reconnected = res.reconnects ? `; reconnected ${res.reconnects} time(s) after lost connections` : '';
    ctx.out(
      res.reason === 'caught_up'
        ? `caught up: applied ${res.appliedTxns} source transaction(s); target is at source LSN ${res.appliedLsn}${reconnected}`
        : `stopped: applied ${res.appliedTxns} source transaction(s); target is at source LSN ${res.appliedLsn}${reconnected}`,
    );
  },
};
