// `make test` and `make bench` run this first. As root, PostgreSQL runs as the
// system user postgres (server/embedded/postgres.ts), which must be able to
// reach the checkout (its binaries are under node_modules) and the temp
// directory; a directory closed to other users (a checkout under /root, mode
// 700) would fail every database test with initdb EACCES. Says so in one line
// and exits 1. Arguments: the directories to check (default: this checkout and
// the temp directory).
import { statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The first directory on the way to `dir` that other users cannot enter, or null. */
export function closedAncestor(dir) {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const mode = statSync(d).mode;
    if ((mode & 0o001) === 0) return { dir: d, mode: (mode & 0o777).toString(8) };
    if (path.dirname(d) === d) return null;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const dirs = process.argv.length > 2 ? process.argv.slice(2) : [repo, tmpdir()];
  if (userInfo().uid === 0) {
    for (const dir of dirs) {
      const closed = closedAncestor(dir);
      if (closed) {
        process.stderr.write(
          `${closed.dir} (mode ${closed.mode}) is closed to other users, and as root the tests run PostgreSQL as user postgres, which must reach ${dir}: run "chmod o+x ${closed.dir}" or use a checkout outside it (e.g. under /srv)\n`,
        );
        process.exit(1);
      }
    }
  }
}
