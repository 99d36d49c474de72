/** Bench group `nodes`: node filtering (nodes-filter.ts). */
import type { BenchGroup } from './report.js';
import { filterBench } from './nodes-filter.js';

const bench: BenchGroup = async (report) => {
  await filterBench(report);
};

export default bench;
