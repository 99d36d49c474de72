// Dead code stays out: test/unused-exports.mjs finds no export that nothing uses (tsc's noUnusedLocals,
// set in tsconfig.json, covers the rest at every build). It must also still find one, or it proves nothing.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './harness/tmp.js';
// @ts-expect-error: a plain .mjs script without type declarations
import { unusedExports } from './unused-exports.mjs';

const find = unusedExports as (tsconfig?: string) => string[];
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

t.test('no unused export in server/, replicator/, test/', async (t) => {
  t.same(find(), [], 'remove them (or use them)');
});

t.test('the check finds an export nothing uses, and not one that is imported or used in its own file', async (t) => {
  const dir = await tempDir(t, 'unused-exports');
  writeFileSync(path.join(dir, 'a.ts'), `export function used(): number { return 1; }\nexport function dead(): number { return 2; }\nexport const local = 3;\nexport function usesLocal(): number { return local; }\n`);
  writeFileSync(path.join(dir, 'b.ts'), `import { used, usesLocal } from './a.js';\nexport const x = used() + usesLocal();\nconsole.log(x);\n`);
  writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: [], typeRoots: [path.join(root, 'node_modules/@types')] }, include: ['*.ts'] }),
  );
  t.same(find(path.join(dir, 'tsconfig.json')).map((u) => u.replace(/^.*\//, '')), ['a.ts: dead']);
});
