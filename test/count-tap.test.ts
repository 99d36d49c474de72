// test/count-tap.mjs (what .ci/run counts with), on TAP streams as `tap --reporter=tap` writes them. Pure, no server.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: a plain .mjs script without type declarations
import { countTap } from './count-tap.mjs';

const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'count-tap.mjs');
const count = countTap as (text: string) => { passed: number; failed: number; skipped: string[]; failures: string[] };

// Written by tap 21 for a file with t.skip, t.todo, a skipped subtest and a skipped assertion in a subtest,
// and a file that planned nothing because a binary was missing (t.plan(0, reason)).
const skipping = `TAP version 14
1..2
# Subtest: test/x.test.mjs
    ok 1 - fine
    ok 2 - skipped point # SKIP
    ok 3 - todo point # TODO
    ok 4 - skipped subtest # SKIP no chromium
    # Subtest: sub
        ok 1 - in sub
        ok 2 - with skip # SKIP binary missing
        1..2
    ok 5 - sub # time=9.826ms

    1..5
    # time=65.13ms
ok 1 - test/x.test.mjs # time=65.13ms

# Subtest: test/y.test.mjs
    1..0 # no sshd here
    # time=15.288ms
ok 2 - test/y.test.mjs # SKIP no sshd here
`;

t.test('skipped and todo points, subtests and files count as failures and are named', async (t) => {
  const r = count(skipping);
  t.equal(r.passed, 2, 'fine, in sub');
  t.equal(r.failed, 5);
  t.same(r.skipped, [
    'test/x.test.mjs > skipped point # SKIP',
    'test/x.test.mjs > todo point # TODO',
    'test/x.test.mjs > skipped subtest # SKIP no chromium',
    'test/x.test.mjs > sub > with skip # SKIP binary missing',
    'test/y.test.mjs # SKIP no sshd here',
  ]);
});

t.test('a green stream: every assertion passes, subtest summaries are not counted', async (t) => {
  const r = count(`TAP version 14
1..1
# Subtest: test/a.test.ts
    # Subtest: one
        ok 1 - a
        ok 2 - b
        1..2
    ok 1 - one # time=1ms
    1..1
ok 1 - test/a.test.ts # time=2ms
`);
  t.same(r, { passed: 2, failed: 0, skipped: [], failures: [] });
});

t.test('a subtest that failed without a failing assertion (it threw) counts once', async (t) => {
  const r = count(`TAP version 14
1..1
# Subtest: test/a.test.ts
    ok 1 - a
    not ok 2 - boom
    1..2
not ok 1 - test/a.test.ts # time=2ms
# Subtest: test/b.test.ts
    ok 1 - b
    1..1
not ok 2 - test/b.test.ts # time=2ms
`);
  t.same(r, { passed: 2, failed: 2, skipped: [], failures: ['test/a.test.ts > boom', 'test/b.test.ts'] }, 'boom, and b that failed after its assertions');
});

t.test('the script prints "PASSED FAILED" and names skips on stderr', async (t) => {
  const r = spawnSync(process.execPath, [script], { input: skipping, encoding: 'utf8' });
  t.equal(r.status, 0);
  t.equal(r.stdout, '2 5\n');
  t.match(r.stderr, /skipped or todo \(counted as failed in CI\): test\/y\.test\.mjs # SKIP no sshd here/);
});

t.test('a failed assertion deep in a subtest is named with its file and subtests, on stderr too', async (t) => {
  const stream = `TAP version 14
1..1
# Subtest: test/a.test.ts
    # Subtest: outer
        ok 1 - a
        not ok 2 - rows equal
        1..2
    not ok 1 - outer # time=1ms
    1..1
not ok 1 - test/a.test.ts # time=2ms
`;
  t.same(count(stream), { passed: 1, failed: 1, skipped: [], failures: ['test/a.test.ts > outer > rows equal'] });
  const r = spawnSync(process.execPath, [script], { input: stream, encoding: 'utf8' });
  t.equal(r.stdout, '1 1\n');
  t.match(r.stderr, /^failed: test\/a\.test\.ts > outer > rows equal$/m);
});
