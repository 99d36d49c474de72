/** Bench group `nodes`: node filtering (nodes-filter.ts) and dispatch over SSH against OpenSSH (nodes-ssh.ts). */
import type { BenchGroup } from './report.js';
import { filterBench } from './nodes-filter.js';
import { sshDispatch } from './nodes-ssh.js';

const bench: BenchGroup = async (report) => {
  await filterBench(report);
  await sshDispatch(report);
};

export default bench;
