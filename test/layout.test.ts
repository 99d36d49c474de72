// The root README's Layout table names every folder a newcomer meets: each top-level folder and each folder
// of server/ and replicator/ (a folder added without a line there fails here). Pure, no server.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Not part of the source tree: dependencies, build output, test and demo runs, git. */
const IGNORED = new Set(['node_modules', 'dist', '.git', '.tap', '.demo']);

function folders(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true })
    .filter((e) => e.isDirectory() && !IGNORED.has(e.name))
    .map((e) => (dir ? `${dir}/${e.name}/` : `${e.name}/`));
}

t.test('every top-level, server/ and replicator/ folder has a line in the README Layout table', async (t) => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const layout = readme.slice(readme.indexOf('## Layout'), readme.indexOf('\n## ', readme.indexOf('## Layout') + 1));
  const named = new Set([...layout.matchAll(/^\| `([^`]+\/)` \|/gm)].map((m) => m[1]!));
  const wanted = [...folders(''), ...folders('server'), ...folders('replicator')];
  t.ok(wanted.length > 20, 'found the folders');
  for (const f of wanted) t.ok(named.has(f), `${f} is in the Layout table`);
  for (const n of named) t.ok(wanted.includes(n), `${n} (named in the table) exists`);
});
