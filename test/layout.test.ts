// The root README's Layout table names every folder a newcomer meets: each top-level folder and each folder
// of server/ and replicator/ (a folder added without a line there fails here). And the dependency direction
// is replicator -> server only: no file under server/ imports from replicator/. Pure, no server.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Not part of the source tree: dependencies, build output, test and demo runs, git. */
const IGNORED = new Set(['node_modules', 'dist', '.git', '.tap', '.demo']);

/** Every .ts file under dir (relative to the root). */
function sources(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)));
}

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

t.test('server/ never imports replicator/ (the dependency direction is replicator -> server)', async (t) => {
  const files = sources('server');
  t.ok(files.length > 100, `found ${files.length} server/ sources`);
  // Static imports and re-exports (`from '...'`), side-effect imports and dynamic import('...').
  const specifier = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g;
  const offenders: string[] = [];
  for (const file of files) {
    const text = readFileSync(path.join(root, file), 'utf8');
    for (const m of text.matchAll(specifier)) {
      const target = path.relative(root, path.resolve(root, path.dirname(file), m[1]!));
      if (target === 'replicator' || target.startsWith('replicator/')) offenders.push(`${file} imports ${m[1]}`);
    }
  }
  t.same(offenders, [], 'no server/ file imports replicator/ (compose both in replicator/, e.g. replicator/cli/tandem.ts)');
});
