import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The checkout's root (the directory of Tandem's package.json), found from
 * this module's location, so that it works from dist/ and from the sources
 * (the tests run the sources). Migrations, the built web UI and the version
 * are found from it.
 */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'tandem') return dir;
    } catch {
      // no package.json here (ENOENT): look one level up
    }
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find Tandem's package.json above ${fileURLToPath(import.meta.url)}`);
}
