// Dead-code check (run by test/unused-exports.test.ts, so by `make test` and .ci/run):
// lists every export of server/, replicator/ and test/ that nothing uses.
// `tsc --noUnusedLocals` (tsconfig.json) finds unused module-private code; an
// export is out of its reach, because any file might import it. Here an
// export counts as used when another file imports or re-exports it (tests
// included: pure logic used by its unit tests only is kept), or when its own
// file refers to it. Entry points used from outside TypeScript are listed in
// ENTRY. Prints one "file: name" line per unused export; exit 1 when any.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Used from JavaScript outside the compiled program: bin/tandem.js imports main. */
const ENTRY = new Set(['replicator/cli/tandem.ts:main']);

export function unusedExports(tsconfig = path.join(root, 'tsconfig.json')) {
  const parsed = ts.getParsedCommandLineOfConfigFile(tsconfig, { noEmit: true, incremental: false }, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
  const checker = program.getTypeChecker();
  const own = program.getSourceFiles().filter((f) => !f.isDeclarationFile && !f.fileName.includes('/node_modules/'));
  const canonical = (s) => (s && s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);

  // Symbols used: imported or re-exported by another file, or referenced in their own file outside their declaration.
  const used = new Set();
  for (const file of own) {
    const visit = (node) => {
      if (ts.isIdentifier(node)) {
        const parent = node.parent;
        const isDeclName = parent && parent.name === node && (ts.isFunctionDeclaration(parent) || ts.isClassDeclaration(parent) || ts.isVariableDeclaration(parent) || ts.isInterfaceDeclaration(parent) || ts.isTypeAliasDeclaration(parent) || ts.isEnumDeclaration(parent));
        if (!isDeclName) {
          const sym = checker.getSymbolAtLocation(node);
          if (sym) {
            used.add(sym);
            used.add(canonical(sym));
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }

  const unused = [];
  for (const file of own) {
    const moduleSym = checker.getSymbolAtLocation(file);
    if (!moduleSym) continue;
    const rel = path.relative(root, file.fileName);
    for (const exp of checker.getExportsOfModule(moduleSym)) {
      if (exp.escapedName === 'default') continue;
      const target = canonical(exp);
      // Re-exports of another file's symbol are judged at their declaration.
      const decl = target.declarations?.[0];
      if (!decl || decl.getSourceFile() !== file) continue;
      if (ENTRY.has(`${rel}:${exp.name}`)) continue;
      if (used.has(exp) || used.has(target)) continue;
      unused.push(`${rel}: ${exp.name}`);
    }
  }
  return unused.sort();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const unused = unusedExports();
  for (const u of unused) process.stdout.write(`unused export: ${u}\n`);
  process.exit(unused.length ? 1 : 0);
}
