/**
 * Temporary directories for tests. Every directory is named `tandem-test-*`
 * under the system temp dir and removed in the test's teardown, so that
 * `.ci/run` can check that a whole run left nothing behind.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { reapDir } from './reaper.js';

/** The part of a tap `Test` the harness needs. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

export const TMP_PREFIX = 'tandem-test-';

/**
 * A new empty directory, removed at teardown. `before` runs first in that
 * teardown (to stop the server that uses the directory before deleting it).
 */
export async function tempDir(t: Teardown, label = 'tmp', before?: () => unknown): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `${TMP_PREFIX}${label.replace(/[^a-z0-9_-]/gi, '_')}-`));
  const hooks = { before };
  const forget = reapDir(dir);
  t.teardown(async () => {
    try {
      await hooks.before?.();
    } finally {
      await rm(dir, { recursive: true, force: true });
      forget();
    }
  });
  return dir;
}

/** Like tempDir, but the returned `setStop` registers the stop hook once the server exists. */
export async function serverDir(t: Teardown, label: string): Promise<{ dir: string; setStop(fn: () => unknown): void }> {
  let stop: (() => unknown) | undefined;
  const dir = await tempDir(t, label, () => stop?.());
  return { dir, setStop: (fn) => (stop = fn) };
}
