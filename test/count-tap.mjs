// Counts passed and failed test points of a TAP stream (as written by
// `tap --reporter=tap`), at every nesting level, for .ci/run. A subtest's own
// summary point is not counted (its assertions are), except when the subtest
// failed without any failing assertion of its own (it threw, timed out or
// planned wrong): then that one point counts as a failure.
//
// Skipped and todo points count as failures: CI (`make install-test`) provides
// every binary and service, so a test that skips (because slapd, sshd or
// chromium is missing, say) or is marked todo hides something that does not
// work. That includes a whole subtest or file that skipped (`# SKIP` on its
// summary point, e.g. after `t.plan(0, reason)`). Each is named on stderr.
//
// Every failed point is named on stderr too ("file > subtest > point"), so that
// the tail of a CI log says which test failed, not only how many.
//
// Prints "PASSED FAILED" on stdout. As a module: countTap(text).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parser } from 'tap-parser';

/**
 * @returns {{ passed: number, failed: number, skipped: string[], failures: string[] }}
 *   skipped: "name # SKIP reason" of each skip/todo point; failures: "file > subtest > point" of each failed point
 */
export function countTap(text) {
  let passed = 0;
  let failed = 0;
  const skipped = [];
  const failures = [];
  /** "file > subtest > point" */
  const pointName = (res, where) => [...where, res.name].filter(Boolean).join(' > ');
  const fail = (res, where) => {
    failures.push(pointName(res, where));
    failed++;
  };
  const skipOrTodo = (res, where) => {
    const kind = res.todo ? `TODO${typeof res.todo === 'string' ? ` ${res.todo}` : ''}` : `SKIP${typeof res.skip === 'string' ? ` ${res.skip}` : ''}`;
    skipped.push(`${pointName(res, where)} # ${kind}`);
    failed++;
  };

  /** Returns a function giving the number of failures counted inside this parser's tree. */
  function watch(parser, where) {
    const pending = []; // children whose summary point has not come yet
    let failuresHere = 0;
    parser.on('child', (child) => pending.push(watch(child, [...where, child.name])));
    parser.on('assert', (res) => {
      if (pending.length) {
        const childFailures = pending.shift()();
        failuresHere += childFailures;
        if (res.skip || res.todo) {
          skipOrTodo(res, where);
          failuresHere++;
        } else if (!res.ok && childFailures === 0) {
          fail(res, where);
          failuresHere++;
        }
        return;
      }
      if (res.skip || res.todo) {
        skipOrTodo(res, where);
        failuresHere++;
      } else if (res.ok) passed++;
      else {
        fail(res, where);
        failuresHere++;
      }
    });
    return () => failuresHere;
  }

  const root = new Parser();
  watch(root, []);
  root.end(text);
  return { passed, failed, skipped, failures };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { passed, failed, skipped, failures } = countTap(readFileSync(process.argv[2] ?? 0, 'utf8'));
  for (const s of skipped) process.stderr.write(`skipped or todo (counted as failed in CI): ${s}\n`);
  for (const f of failures) process.stderr.write(`failed: ${f}\n`);
  process.stdout.write(`${passed} ${failed}\n`);
}
