import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Tandem's version from package.json, found from this module (works from dist/ and from the sources). */
export function productVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'tandem') return pkg.version;
    } catch {
      // not in this directory: look one level up
    }
    dir = path.dirname(dir);
  }
  return 'unknown';
}
