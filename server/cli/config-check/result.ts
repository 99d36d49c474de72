/** One line of `tandem config check`: what was checked and how it went. */
export type CheckStatus = 'ok' | 'fail' | 'skip';

export interface CheckResult {
  /** What was checked, e.g. `database`, `ldap ldaps://ldap1:636`, `site b url`. */
  item: string;
  status: CheckStatus;
  detail: string;
}

/** A check to run: its name, and a function that returns the detail or throws the reason. */
export interface Check {
  item: string;
  run(): Promise<string | { skip: string }>;
}

/** Resolve within `ms` or reject naming the limit (a stuck connection must not hang the command). */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A URL for display: the password replaced by `***`. */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
