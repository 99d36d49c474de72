/**
 * `make bench [BENCH=group]`: runs every `*.bench.js` group of this folder
 * (compiled to dist/test/bench/), then writes `test/bench/results.json` (all
 * figures + the machine's description; figures of groups not run this time
 * are kept from the previous file) and `test/bench/REPORT.md`.
 * `node dist/test/bench/run.js --report` runs nothing and writes REPORT.md
 * again from results.json (after a note in results.json was corrected).
 */
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { partsRunBefore, withHistory, type BenchGroup, type BenchReport } from './report.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// Sources and results live in test/bench/ of the repository, also when running from dist/.
const repoBench = path.resolve(here, '../../../test/bench');
const outDir = existsSync(path.join(repoBench, 'run.ts')) ? repoBench : here;

/**
 * Groups that run only when named: `make soak` (node dist/test/bench/run.js soak) runs for an hour and is
 * not part of `make bench`. Each writes figures under another group's name (the prefix given here), kept when
 * that group runs again; its notes go to that group's section of REPORT.md.
 */
const ON_DEMAND: Record<string, string> = { soak: 'replication.soak_' };
const ownPrefix = (g: string) => ON_DEMAND[g] ?? `${g}.`;

interface Results {
  machine: Record<string, unknown>;
  figures: Record<string, number>;
  descriptions: Record<string, string>;
  notes: Record<string, string[]>;
  ranAt: Record<string, string>;
}

async function main() {
  const file = path.join(outDir, 'results.json');
  const reportFile = path.join(outDir, 'REPORT.md');
  if (process.argv[2] === '--report') {
    const results = JSON.parse(readFileSync(file, 'utf8')) as Results;
    writeFileSync(reportFile, withHistory(markdown(results), existsSync(reportFile) ? readFileSync(reportFile, 'utf8') : null));
    console.log(`wrote ${reportFile} from ${file}`);
    return;
  }
  const only = process.argv.slice(2);
  const groups = readdirSync(here)
    .filter((f) => f.endsWith('.bench.js'))
    .map((f) => f.replace(/\.bench\.js$/, ''))
    .filter((g) => (only.length ? only.includes(g) : !(g in ON_DEMAND)))
    .sort();
  if (only.length && groups.length !== only.length) {
    const known = readdirSync(here).filter((f) => f.endsWith('.bench.js')).map((f) => f.replace(/\.bench\.js$/, ''));
    console.error(`unknown benchmark group(s): ${only.filter((g) => !groups.includes(g)).join(', ')}; known: ${known.join(', ')}`);
    process.exit(2);
  }
  const prev: Results = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Results)
    : { machine: {}, figures: {}, descriptions: {}, notes: {}, ranAt: {} };
  const results: Results = {
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 1024 ** 3),
      node: process.version,
      kernel: release(),
    },
    figures: { ...prev.figures },
    descriptions: { ...prev.descriptions },
    notes: { ...prev.notes },
    ranAt: { ...prev.ranAt },
  };
  let failed = 0;
  for (const g of groups) {
    const started = Date.now();
    console.log(`== ${g}`);
    const notes: string[] = [];
    const othersOwn = (k: string) => Object.entries(ON_DEMAND).some(([og, prefix]) => og !== g && k.startsWith(prefix));
    // Some parts only (TANDEM_BENCH_PARTS, replication): the group's other figures stay, from their own run.
    const parts = g === 'replication' ? process.env.TANDEM_BENCH_PARTS : undefined;
    if (!parts) for (const k of Object.keys(results.figures)) if (k.startsWith(ownPrefix(g)) && !othersOwn(k)) delete results.figures[k];
    const report: BenchReport = {
      figure(name, value, description) {
        results.figures[name] = Math.round(value * 1000) / 1000;
        if (description) results.descriptions[name] = description;
        console.log(`  ${name} = ${results.figures[name]}`);
      },
      note: (t) => notes.push(t),
      progress: (t) => console.log(`  .. ${t}`),
    };
    try {
      const mod = (await import(pathToFileURL(path.join(here, `${g}.bench.js`)).href)) as { default: BenchGroup };
      await mod.default(report);
      if (parts && prev.ranAt[g]) {
        notes.push(...partsRunBefore(prev.notes[g] ?? [], parts));
        notes.push(`Parts ${parts} ran at ${new Date().toISOString()} (TANDEM_BENCH_PARTS); the group's other figures are from the run at ${prev.ranAt[g]}.`);
      } else results.ranAt[g] = new Date().toISOString();
      results.notes[g] = notes;
      console.log(`== ${g} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (e) {
      failed++;
      console.error(`== ${g} FAILED: ${(e as Error).stack ?? String(e)}`);
    }
  }
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  writeFileSync(reportFile, withHistory(markdown(results), existsSync(reportFile) ? readFileSync(reportFile, 'utf8') : null));
  console.log(`wrote ${file} and REPORT.md`);
  process.exit(failed ? 1 : 0);
}

function markdown(r: Results): string {
  const lines = [
    '# Tandem benchmark report',
    '',
    `Machine: ${r.machine.cpus} cores (${r.machine.cpuModel}), ${r.machine.memoryGiB} GiB, Node ${r.machine.node}, Linux ${r.machine.kernel}.`,
    'Figures are from one run of `make bench`; ratios compare two systems measured side by side in the same run.',
    '',
  ];
  const groups = [...new Set(Object.keys(r.figures).map((k) => k.split('.')[0]!))].sort();
  for (const g of groups) {
    lines.push(`## ${g}`, '', `Run at ${r.ranAt[g] ?? '?'}.`, '', '| figure | value | meaning |', '|---|---|---|');
    for (const [k, v] of Object.entries(r.figures).filter(([k]) => k.startsWith(g + '.')))
      lines.push(`| \`${k}\` | ${v} | ${r.descriptions[k] ?? ''} |`);
    lines.push('');
    for (const n of r.notes[g] ?? []) lines.push(`- ${n}`);
    for (const [og, prefix] of Object.entries(ON_DEMAND))
      if (prefix.startsWith(g + '.')) for (const n of r.notes[og] ?? []) lines.push(`- ${n} (run at ${r.ranAt[og] ?? '?'})`);
    lines.push('');
  }
  return lines.join('\n');
}

await main();
