// REPORT.md keeps its History section when `make bench` rewrites the figures (test/bench/report.ts). Pure, no server.
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { partsRunBefore, withHistory } from './report.js';

t.test('the previous History section follows the new figures, unchanged', async (t) => {
  const previous = '# Tandem benchmark report\n\n## jobs\n\nold figures\n\n## History\n\n### 2026-11\n\nbulk 0.86 x native.\n';
  t.equal(withHistory('# Tandem benchmark report\n\n## jobs\n\nnew figures\n', previous), '# Tandem benchmark report\n\n## jobs\n\nnew figures\n\n## History\n\n### 2026-11\n\nbulk 0.86 x native.\n');
});

t.test('without a previous report or History section: the generated report alone', async (t) => {
  t.equal(withHistory('figures\n', null), 'figures\n');
  t.equal(withHistory('figures\n', '# report\n\n## jobs\n'), 'figures\n');
  t.equal(withHistory('figures\n', 'text mentioning ## History inline\n'), 'figures\n', 'only a heading line counts');
});

t.test('the repository REPORT.md has a History section', async (t) => {
  const report = readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'REPORT.md'), 'utf8');
  t.match(report, /^## History$/m);
  t.match(withHistory('figures\n', report), /^## History$[\s\S]*1\.39 x native/m, 'kept through a rewrite');
});

t.test('a parts run keeps the notes of earlier parts runs for the parts it did not run again', async (t) => {
  const notes = [
    'One source and one target cluster.',
    "Parts bulk,small ran at 2026-12-03T23:26:08.438Z (TANDEM_BENCH_PARTS); the group's other figures are from the run at 2026-12-03T22:51:11.841Z.",
  ];
  t.same(partsRunBefore(notes, 'lag'), ['Parts bulk,small ran at 2026-12-03T23:26:08.438Z (TANDEM_BENCH_PARTS).']);
  t.same(partsRunBefore(notes, 'small,lag'), ['Parts bulk ran at 2026-12-03T23:26:08.438Z (TANDEM_BENCH_PARTS).'], 'small ran again: only bulk is from then');
  t.same(partsRunBefore(notes, 'bulk,small'), [], 'all of them ran again');
  t.same(partsRunBefore(['Parts lag ran at 2026-12-04T03:58:18.944Z (TANDEM_BENCH_PARTS).'], 'small'), ['Parts lag ran at 2026-12-04T03:58:18.944Z (TANDEM_BENCH_PARTS).'], 'a carried note is carried again');
});
