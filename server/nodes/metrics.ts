/**
 * Node model metrics: per project and source, whether its last read
 * succeeded (a failed source keeps its last good nodes, so the node count
 * alone would hide it), how many reads failed, and the model's node count.
 * Labels are project names and source positions: bounded by configuration.
 */
import client from 'prom-client';
import type { Registry } from '../metrics/registry.js';
import type { NodeCatalog } from './catalog.js';

export class NodeMetrics {
  private readonly failures: client.Counter<'project' | 'type'>;

  constructor(registry: Registry, catalog: () => NodeCatalog | undefined) {
    this.failures = new client.Counter({
      name: 'tandem_node_source_failures_total',
      help: 'Failed reads of a node source (its last good nodes were kept).',
      labelNames: ['project', 'type'],
      registers: [registry],
    });
    new client.Gauge({
      name: 'tandem_node_source_up',
      help: 'Whether the last read of a node source succeeded (1) or failed (0), by project and source position.',
      labelNames: ['project', 'source', 'type'],
      registers: [registry],
      collect() {
        this.reset();
        for (const m of catalog()?.models() ?? []) {
          for (const s of m.sources) if (s.status !== 'pending') this.set({ project: m.project, source: String(s.index + 1), type: s.type }, s.status === 'ok' ? 1 : 0);
        }
      },
    });
    new client.Gauge({
      name: 'tandem_nodes',
      help: 'Nodes in a project\'s cached resource model (the server\'s own node included).',
      labelNames: ['project'],
      registers: [registry],
      collect() {
        this.reset();
        for (const m of catalog()?.models() ?? []) this.set({ project: m.project }, m.nodes.length);
      },
    });
  }

  sourceFailed(project: string, type: string): void {
    this.failures.inc({ project, type });
  }
}
