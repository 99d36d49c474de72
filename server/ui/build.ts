/**
 * Builds the web UI (server/ui/app/) with esbuild into one hashed script and
 * one hashed stylesheet plus `manifest.json` naming them. `make build` runs it
 * into dist/ui/ after the TypeScript build; the browser tests run it into a
 * temporary directory of their own, so they always test the sources.
 *
 * Hashed names let the server answer assets with a one-year immutable cache
 * while a new build is picked up at once (the shell is never cached).
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { packageRoot } from '../app/package-root.js';
import { MANIFEST_FILE, defaultUiDir, type UiManifest } from './assets.js';


export async function buildUi(outDir: string, opts: { minify?: boolean } = {}): Promise<UiManifest> {
  const assets = path.join(outDir, 'assets');
  await mkdir(assets, { recursive: true });
  const result = await esbuild.build({
    entryPoints: { app: path.join(packageRoot(), 'server', 'ui', 'app', 'main.tsx') },
    bundle: true,
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: opts.minify ?? true,
    sourcemap: 'linked',
    entryNames: '[name]-[hash]',
    outdir: assets,
    metafile: true,
    logLevel: 'silent',
    legalComments: 'linked',
  });
  let script = '';
  let style = '';
  for (const [file, out] of Object.entries(result.metafile.outputs)) {
    const rel = path.relative(outDir, path.resolve(file));
    if (out.entryPoint && file.endsWith('.js')) script = rel;
    else if (file.endsWith('.css') && !file.endsWith('.map')) style = rel;
  }
  if (!script || !style) throw new Error(`web UI build: expected a script and a stylesheet, got ${Object.keys(result.metafile.outputs).join(', ')}`);
  const manifest: UiManifest = { script, style };
  // Written last and renamed into place: a server reading it never sees half a file, and never names an asset not yet written.
  const tmp = path.join(outDir, `${MANIFEST_FILE}.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify(manifest, null, 2) + '\n');
  await rename(tmp, path.join(outDir, MANIFEST_FILE));
  return manifest;
}

/** `node dist/server/ui/build.js [OUT_DIR]` (make build): a clean build into dist/ui/. */
async function main(): Promise<void> {
  const out = path.resolve(process.argv[2] ?? defaultUiDir());
  await rm(path.join(out, 'assets'), { recursive: true, force: true });
  const started = Date.now();
  const m = await buildUi(out);
  process.stdout.write(`web UI built in ${Date.now() - started} ms: ${path.join(out, m.script)}, ${path.join(out, m.style)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`web UI build failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
