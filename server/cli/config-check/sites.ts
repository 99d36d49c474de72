/**
 * Every site of `sites`: its database (as the failover, rejoin and status
 * commands will reach it from here) and its URL's /health/live.
 */
import type { Config } from '../../config/schema.js';
import { errorMessage } from '../../errors.js';
import { checkDatabase } from './database.js';
import type { Check } from './result.js';

async function httpLive(url: string, timeoutMs: number): Promise<string> {
  const target = `${url}/health/live`;
  let res: Response;
  try {
    res = await fetch(target, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  } catch (e) {
    const cause = (e as { cause?: unknown }).cause;
    throw new Error(`${target}: ${cause ? errorMessage(cause) : errorMessage(e)}`);
  }
  await res.body?.cancel();
  if (res.status !== 200) throw new Error(`${target}: HTTP ${res.status}`);
  return `${target}: 200`;
}

export function siteChecks(cfg: Config, timeoutMs: number): Check[] {
  const sites = cfg.sites ?? {};
  return Object.entries(sites).flatMap(([name, s]) => [
    { item: `site ${name} database`, run: () => checkDatabase(s.databaseUrl, timeoutMs, { migrations: false }) },
    { item: `site ${name} url`, run: () => httpLive(s.url, timeoutMs) },
  ]);
}
