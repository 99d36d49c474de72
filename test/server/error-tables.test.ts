/**
 * The two error tables of server/errors.ts (HTTP status by error code, exit
 * codes) and their documentation in server/README.md "Errors" say the same,
 * and an error's code picks its exit status.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { ERROR_STATUS, EXIT_CODES, TandemError } from '../../server/errors.js';

const readme = readFileSync(new URL('../../server/README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('## Errors: HTTP status and exit codes'));
const rows = (re: RegExp) => [...section.slice(0, section.indexOf('\n## ', 10)).matchAll(re)].map((m) => [m[1]!, m[2]!] as const);

t.test('server/README.md lists every HTTP status and every exit code as the code does', async (t) => {
  t.same(Object.fromEntries(rows(/^\| `(\w+)` \| (\d{3}) \|/gm).map(([code, status]) => [code, Number(status)])), ERROR_STATUS, 'HTTP status table');
  t.same(Object.fromEntries(rows(/^\| (\d+) \| `(\w+)` \|/gm).map(([n, name]) => [name, Number(n)])), EXIT_CODES, 'exit code table');
  t.ok(Object.isFrozen(ERROR_STATUS) && Object.isFrozen(EXIT_CODES), 'both frozen');
});

t.test("an error's code picks its exit status", async (t) => {
  const exit = (code: ConstructorParameters<typeof TandemError>[0]) => new TandemError(code, 'x').exitCode;
  t.equal(exit('usage'), EXIT_CODES.usage);
  t.equal(exit('invalid_option'), EXIT_CODES.usage);
  t.equal(exit('replication_setup'), EXIT_CODES.setup);
  t.equal(exit('replication_apply'), EXIT_CODES.apply);
  t.equal(exit('replication_slot_lost'), EXIT_CODES.slotLost);
  t.equal(exit('conflict'), EXIT_CODES.failed);
  t.equal(exit('internal'), EXIT_CODES.failed);
  t.equal(new TandemError('unavailable', 'x', { exitCode: EXIT_CODES.interrupted }).exitCode, 130, 'an error may name its own');
});
