import t from 'tap';
import { TandemError } from '../../server/errors.js';
import { expandOptions, expandScriptTokens, optionEnv } from '../../server/jobs/interpolate.js';
import { resolveOptionValues, secureOptionValues } from '../../server/jobs/options.js';
import { parseJobs } from '../../server/jobs/rundeck-format.js';

const { jobs } = parseJobs(
  `
- name: deploy
  options:
  - name: env
    required: true
    enforced: true
    values: [dev, prod]
  - name: port
    regex: '[0-9]{2,5}'
    value: '8080'
  - name: token
    secure: true
    regex: 'tk-[a-z]+'
  - name: note
  - name: tags
    multivalued: true
    delimiter: ' '
    enforced: true
    values: [a, b, c]
  - name: release.tag
    value: v1
  sequence:
    commands:
    - exec: deploy --env \${option.env}
`,
  'yaml',
);
const job = jobs[0]!;

function refused(given: Record<string, unknown>): TandemError {
  try {
    resolveOptionValues(job, given);
  } catch (e) {
    if (e instanceof TandemError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(given)} to be refused`);
}

t.test('defaults apply and given values win', async (t) => {
  t.same(resolveOptionValues(job, { env: 'dev' }), { env: 'dev', port: '8080', 'release.tag': 'v1' });
  t.same(resolveOptionValues(job, { env: 'prod', port: 443, note: '', token: 'tk-abc', 'release.tag': 'v2' }), {
    env: 'prod',
    port: '443',
    token: 'tk-abc',
    note: '',
    'release.tag': 'v2',
  }, 'numbers become strings, an empty optional value is kept');
  t.same(resolveOptionValues(job, { env: 'dev', tags: ['a', 'c'] })['tags'], 'a c', 'a multivalued option joins a list with its delimiter');
});

t.test('bad values are refused with the option named', async (t) => {
  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['required missing', {}, 'options.env', /^option "env": required$/],
    ['required empty', { env: '' }, 'options.env', /^option "env": required$/],
    ['not an allowed value', { env: 'qa' }, 'options.env', /^option "env": must be one of dev, prod$/],
    ['regex mismatch', { env: 'dev', port: '80a' }, 'options.port', /^option "port": "80a" does not match \[0-9\]\{2,5\}$/],
    ['regex is anchored', { env: 'dev', port: '123456' }, 'options.port', /does not match/],
    ['unknown option', { env: 'dev', colour: 'red' }, 'options.colour', /^option "colour": no such option \(the job has env, port, token, note, tags, release\.tag\)$/],
    ['not a string', { env: { x: 1 } }, 'options.env', /must be a string$/],
    ['list for a single-valued option', { env: ['dev'] }, 'options.env', /must be a string$/],
    ['one of several values not allowed', { env: 'dev', tags: ['a', 'z'] }, 'options.tags', /must be one of a, b, c/],
  ];
  for (const [what, given, field, message] of cases) {
    const e = refused(given);
    t.equal(e.code, 'invalid_option', `${what}: code`);
    t.equal(e.status, 400, `${what}: status`);
    t.equal(e.field, field, `${what}: field`);
    t.match(e.message, message, `${what}: message`);
  }
  const secret = refused({ env: 'dev', token: 'hunter2' });
  t.equal(secret.field, 'options.token');
  t.notMatch(secret.message, 'hunter2', 'a secure value never appears in the message');
});

t.test('secure values to mask, longest first', async (t) => {
  const { jobs } = parseJobs(
    `- name: j
  options:
  - {name: a, secure: true}
  - {name: b, secure: true}
  - {name: c}
  - {name: d, secure: true}
  sequence: {commands: [{exec: x}]}
`,
    'yaml',
  );
  t.same(secureOptionValues(jobs[0]!, { a: 'pw', b: 'longer-secret', c: 'public', d: '' }), ['longer-secret', 'pw']);
  t.same(secureOptionValues(job, { env: 'dev' }), []);
});

t.test('${option.NAME} expansion and environment variables', async (t) => {
  const values = { env: 'prod', 'release.tag': 'v2', port: '8080' };
  t.equal(expandOptions('deploy --env ${option.env} --tag ${option.release.tag}:${option.port}', values), 'deploy --env prod --tag v2:8080');
  t.equal(expandOptions('x${option.missing}y', values), 'xy', 'an option without a value expands to the empty string');
  t.equal(expandOptions('${option.env}${option.env} $HOME ${node.name} ${option.env', values), 'prodprod $HOME ${node.name} ${option.env', 'other references are left alone');
  t.equal(expandOptions('${option.constructor}', values), '', 'no prototype lookups');
  t.same(optionEnv(values), { TANDEM_OPTION_ENV: 'prod', TANDEM_OPTION_RELEASE_TAG: 'v2', TANDEM_OPTION_PORT: '8080' });
  t.same(optionEnv({}), {});
  t.equal(expandScriptTokens('echo "@option.env@ @option.release.tag@ @option.none@ ${option.env}"', values), 'echo "prod v2  ${option.env}"', 'Rundeck script tokens');
});

t.test('multivalued options are understood, not reported as unknown', async (t) => {
  const { warnings } = parseJobs("- name: j\n  options:\n  - {name: tags, multivalued: true, delimiter: ' ', storagePath: x}\n  sequence: {commands: [{exec: x}]}\n", 'yaml');
  t.same(warnings, ['jobs[0].options[0].storagePath: unknown field, kept']);
});
