/**
 * The node cache: per project, the merged resource model of its sources.
 *
 * A project's model is built when first asked for, then refreshed in the
 * background every `refreshMs` (Rundeck's `project.nodeCache.delay`, 30 s)
 * while it is in use, and at once on demand (`refresh`, after a PUT of the
 * sources). Sources are read in order and merged: the server's own node
 * first, then each source's nodes, a later node of the same name replacing an
 * earlier one (Rundeck). A source that fails keeps the nodes of its last good
 * read and carries its error (API and metrics) instead of emptying the model.
 * A refresh already running is joined, never run twice at once.
 *
 * Only this member's memory holds the cache; the source list itself is in the
 * replicated database, so a passive site builds the same model after failover.
 */
import { arch, hostname, release, type } from 'node:os';
import type pg from 'pg';
import { errorMessage } from '../errors.js';
import type { Executor } from '../executions/executor.js';
import type { Logger } from '../log.js';
import { getProjectByName } from '../projects/sql/get-project-by-name.js';
import type { NodeEntry } from './node-executor.js';
import { readSource, readSourceSpecs, type SourceSpec, type UrlCache } from './sources.js';
import { getNodeSources } from './sql/get-node-sources.js';
import { getNodeSourcesVersion } from './sql/get-node-sources-version.js';

/**
 * The server's own node, as Rundeck's framework node (`framework.server.name`
 * and `framework.server.hostname`, both `localhost` by default); the host's
 * real name is in `server-hostname`.
 */
export function localNode(name = 'localhost'): NodeEntry {
  return {
    name,
    attributes: {
      nodename: name,
      hostname: 'localhost',
      description: 'the Tandem server itself',
      'server-hostname': hostname(),
      osFamily: process.platform === 'win32' ? 'windows' : 'unix',
      osName: type(),
      osArch: arch(),
      osVersion: release(),
      'node-executor': 'local',
    },
    tags: [],
  };
}

export const SOURCE_STATES = Object.freeze(['ok', 'failed', 'pending'] as const);
/** `ok`: the last read succeeded; `failed`: it failed (its last good nodes still count); `pending`: never read yet. */
export type SourceStatus = (typeof SOURCE_STATES)[number];

export interface SourceState {
  index: number;
  type: SourceSpec['type'];
  status: SourceStatus;
  /** The last read's error (null when it succeeded). */
  error: string | null;
  nodeCount: number;
  lastReadAt: Date | null;
  lastGoodAt: Date | null;
}

export interface ProjectModel {
  project: string;
  nodes: NodeEntry[];
  sources: SourceState[];
  refreshedAt: Date;
}

interface SourceMemory {
  /** JSON of the spec: a changed spec forgets the last good nodes. */
  key: string;
  nodes: NodeEntry[];
  cache?: UrlCache;
  state: SourceState;
}

interface ProjectEntry {
  model: ProjectModel | null;
  /** Version of the stored source list the model was built from (0: none stored). */
  version: number;
  memory: SourceMemory[];
  refreshing: Promise<ProjectModel> | null;
  /** An on-demand refresh waiting for the running one to end. */
  queued: Promise<ProjectModel> | null;
  lastUsed: number;
}

export interface NodeCatalogOptions {
  pool: pg.Pool;
  log: Logger;
  /** Runs script sources (the server's local executor). */
  executor: Executor;
  /** Background refresh period (config `nodes.refreshInterval`). */
  refreshMs: number;
  /** Config `nodes.sourcePaths`: directories file/script sources may name (empty: any). */
  sourcePaths?: readonly string[];
  /** Name of the server's own node (config `nodes.localNodeName`, default `localhost`). */
  localName?: string;
  /** Counts failed source reads (metrics). */
  onSourceFailure?: (project: string, type: string) => void;
}

/** Projects not asked about for this many refresh periods leave the background loop. */
const IDLE_PERIODS = 20;

export class NodeCatalog {
  private readonly projects = new Map<string, ProjectEntry>();
  private timer: NodeJS.Timeout | undefined;
  readonly local: NodeEntry;

  constructor(private readonly o: NodeCatalogOptions) {
    this.local = localNode(o.localName);
    this.timer = setInterval(() => void this.refreshAll(), o.refreshMs);
    this.timer.unref();
  }

  /**
   * The project's model: cached, or built now on first use. A cache built from
   * an older source list than the stored one is rebuilt first: the list may
   * have been changed through another member, or on the other site before a
   * switchover, and waiting for the background refresh would run jobs on the
   * old model (e.g. "No matched nodes") for up to refreshMs.
   */
  async get(project: string): Promise<ProjectModel> {
    const e = this.entry(project);
    e.lastUsed = Date.now();
    if (e.model && (await getNodeSourcesVersion(this.o.pool, project)) !== e.version) return this.refresh(project);
    return e.model ?? (await (e.refreshing ?? this.refresh(project)));
  }

  /**
   * Read every source again now. A refresh already running may have read a
   * source before the change the caller knows about: this one runs after it
   * (callers arriving meanwhile share that next run).
   */
  refresh(project: string): Promise<ProjectModel> {
    const e = this.entry(project);
    if (e.refreshing) {
      e.queued ??= e.refreshing
        .catch(() => undefined)
        .then(() => {
          e.queued = null;
          return this.refresh(project);
        });
      return e.queued;
    }
    return this.start(project, e);
  }

  private start(project: string, e: ProjectEntry): Promise<ProjectModel> {
    e.refreshing = this.build(project, e).finally(() => {
      e.refreshing = null;
    });
    return e.refreshing;
  }

  /** Every cached model, for metrics. */
  models(): ProjectModel[] {
    return [...this.projects.values()].flatMap((e) => (e.model ? [e.model] : []));
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private entry(project: string): ProjectEntry {
    let e = this.projects.get(project);
    if (!e) {
      e = { model: null, version: 0, memory: [], refreshing: null, queued: null, lastUsed: Date.now() };
      this.projects.set(project, e);
    }
    return e;
  }

  private async refreshAll(): Promise<void> {
    for (const [project, e] of this.projects) {
      if (Date.now() - e.lastUsed > IDLE_PERIODS * this.o.refreshMs) {
        this.projects.delete(project);
        continue;
      }
      // The background loop joins a refresh already running instead of queueing another.
      await (e.refreshing ?? this.start(project, e)).catch((err) => this.o.log.warn('cannot refresh the node model', { project, error: err }));
    }
  }

  private async build(project: string, e: ProjectEntry): Promise<ProjectModel> {
    const p = await getProjectByName(this.o.pool, project);
    const stored = p ? await getNodeSources(this.o.pool, p.id) : null;
    let specs: SourceSpec[];
    try {
      specs = readSourceSpecs(stored?.sources ?? []);
    } catch (err) {
      // Stored by an older or newer version with other rules: report, keep the last model.
      this.o.log.error('stored node sources are not valid', { project, error: err });
      specs = [];
    }
    const memory: SourceMemory[] = [];
    await Promise.all(
      specs.map(async (spec, index) => {
        const key = JSON.stringify(spec);
        const prior = e.memory[index]?.key === key ? e.memory[index] : undefined;
        const m: SourceMemory = prior ?? {
          key,
          nodes: [],
          state: { index, type: spec.type, status: 'pending', error: null, nodeCount: 0, lastReadAt: null, lastGoodAt: null },
        };
        const log = this.o.log.child({ project, source: index, type: spec.type });
        try {
          const r = await readSource(spec, {
            project,
            executor: this.o.executor,
            stderr: (line) => log.warn('node source script stderr', { line }),
            ...(m.cache ? { cache: m.cache } : {}),
          });
          if (r.kind === 'nodes') {
            m.nodes = r.nodes;
            if (r.cache) m.cache = r.cache;
            else delete m.cache;
          }
          m.state = { ...m.state, status: 'ok', error: null, nodeCount: m.nodes.length, lastReadAt: new Date(), lastGoodAt: new Date() };
        } catch (err) {
          const message = errorMessage(err);
          if (m.state.error !== message) log.warn('node source failed; its last good nodes are kept', { error: message, keptNodes: m.nodes.length });
          m.state = { ...m.state, status: 'failed', error: message, lastReadAt: new Date() };
          this.o.onSourceFailure?.(project, spec.type);
        }
        memory[index] = m;
      }),
    );
    const merged = new Map<string, NodeEntry>([[this.local.name, this.local]]);
    for (const m of memory) for (const n of m.nodes) merged.set(n.name, n);
    e.memory = memory;
    e.version = stored?.version ?? 0;
    e.model = { project, nodes: [...merged.values()], sources: memory.map((m) => m.state), refreshedAt: new Date() };
    return e.model;
  }
}
