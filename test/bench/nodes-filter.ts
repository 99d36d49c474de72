/**
 * Node filtering: a 10,000-node model (tags, attributes, Rundeck-like names)
 * filtered with a 4-token filter (`tags: web+prod name: web.* !os-family:
 * windows env: prod,staging`), parse and compile included, as the node API
 * and dispatch do for each request. 200 runs after 20 warm-ups; p50 and p99.
 * Pure CPU in this process: no server, no database.
 */
import { compileNodeFilter } from '../../server/nodes/filter.js';
import type { NodeEntry } from '../../server/nodes/node-executor.js';
import { percentile, type BenchReport } from './report.js';

const NODES = 10_000;
const RUNS = 200;
const FILTER = 'tags: web+prod name: web.* !os-family: windows env: prod,staging';

function model(): NodeEntry[] {
  const kinds = ['web', 'db', 'app', 'cache'];
  const envs = ['prod', 'staging', 'dev'];
  return Array.from({ length: NODES }, (_, i) => {
    const kind = kinds[i % kinds.length]!;
    const env = envs[i % envs.length]!;
    const name = `${kind}${i}`;
    return {
      name,
      tags: [kind, env, `rack${i % 40}`],
      attributes: {
        nodename: name,
        hostname: `${name}.dc1.example.com`,
        osFamily: i % 10 === 0 ? 'windows' : 'unix',
        osName: 'Linux',
        env,
        rank: String(i % 100),
        'node-executor': 'ssh',
      },
    };
  });
}

/** Part of bench group `nodes` (nodes.bench.ts). */
export async function filterBench(report: BenchReport): Promise<void> {
  const nodes = model();
  let matched = 0;
  const once = () => {
    const test = compileNodeFilter(FILTER);
    matched = nodes.filter(test).length;
  };
  for (let i = 0; i < 20; i++) once();
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    once();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  report.progress(`${matched} of ${NODES} nodes match "${FILTER}"`);
  report.figure('nodes.filter_ms', Number(percentile(ms, 50).toFixed(3)), `p50 of filtering ${NODES} nodes with a 4-token filter (target < 20 ms)`);
  report.figure('nodes.filter_p99_ms', Number(percentile(ms, 99).toFixed(3)), `p99 of the same`);
  report.note(`nodes.filter_ms: ${NODES} nodes, filter \`${FILTER}\` (${matched} match), parse + compile + match per run, ${RUNS} runs after 20 warm-ups, RE2 (re2js) for regular expressions.`);
}
