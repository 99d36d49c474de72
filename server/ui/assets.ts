/** The built web UI on disk: where it is and what the shell page links. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { packageRoot } from '../app/package-root.js';

/** What the shell page links: paths relative to the UI directory (written by build.ts). */
export interface UiManifest {
  script: string;
  style: string;
}

export const MANIFEST_FILE = 'manifest.json';

/** Where `make build` puts the web UI, and where the server looks for it unless `ui.dir` says otherwise. */
export function defaultUiDir(): string {
  return path.join(packageRoot(), 'dist', 'ui');
}

/** The manifest, or null when the UI was never built there (the server then says how to build it). */
export async function readManifest(dir: string): Promise<UiManifest | null> {
  try {
    return JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), 'utf8')) as UiManifest;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}
