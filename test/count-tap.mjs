// Counts passed and failed test points of a TAP stream (as written by
// `tap --reporter=tap`), at every nesting level. A subtest's own summary point
// is not counted (its assertions are), except when the subtest failed without
// any failing assertion of its own (it threw, timed out or planned wrong):
// then that one point counts as a failure. Prints "PASSED FAILED".
import { readFileSync } from 'node:fs';
import { Parser } from 'tap-parser';

const text = readFileSync(process.argv[2] ?? 0, 'utf8');
let passed = 0;
let failed = 0;

/** Returns a function giving the number of failures counted inside this parser's tree. */
function watch(parser) {
  const pending = []; // children whose summary point has not come yet
  let failuresHere = 0;
  parser.on('child', (child) => pending.push(watch(child)));
  parser.on('assert', (res) => {
    if (pending.length) {
      const childFailures = pending.shift()();
      if (!res.ok && !res.todo && !res.skip && childFailures === 0) {
        failed++;
        failuresHere++;
      }
      failuresHere += childFailures;
      return;
    }
    if (res.ok || res.todo || res.skip) passed++;
    else {
      failed++;
      failuresHere++;
    }
  });
  return () => failuresHere;
}

const root = new Parser();
watch(root);
root.end(text);
process.stdout.write(`${passed} ${failed}\n`);
