#!/usr/bin/env node
// Entry of the `tandem` command. The TypeScript sources are compiled to dist/
// by `make build`.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/replicator/cli/tandem.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('tandem: not built yet; run `make build` (or `make install`) first\n');
  process.exit(1);
}
const { main } = await import(entry.href);
const code = await main(process.argv.slice(2));
process.exitCode = code;
