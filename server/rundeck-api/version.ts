/**
 * The Rundeck API versions Tandem answers: every N in /api/N/... from the
 * oldest Rundeck still supports (14) to the current one (59). Clients such as
 * rundeck-cli read `apiversion` from an "unsupported version" error and retry
 * with that version, so the error names the newest version we speak.
 */
export const MIN_API_VERSION = 14;
export const MAX_API_VERSION = 59;

/** `/api/<digits>/...`: a Rundeck API path (Tandem's own API is `/api/v1/...`). */
export const RUNDECK_PATH = /^\/api\/(\d+)(\/.*)?$/;

/** The version named by a Rundeck API path, or null for any other path. */
export function pathVersion(path: string): number | null {
  const m = RUNDECK_PATH.exec(path);
  return m ? Number(m[1]) : null;
}

export function isSupported(v: number): boolean {
  return Number.isInteger(v) && v >= MIN_API_VERSION && v <= MAX_API_VERSION;
}
