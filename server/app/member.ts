import { hostname } from 'node:os';
import type { Config } from '../config/schema.js';

/**
 * The name of this job-server member. It must stay the same across restarts
 * of the same member (restart recovery closes the executions left running
 * under this name) and differ between members sharing a database.
 */
export function memberName(config: Config, port: number): string {
  return config.server.memberName ?? `${hostname()}:${port}`;
}
