import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { TandemError } from '../../server/errors.js';
import { exportJobs, parseJobs } from '../../server/jobs/rundeck-format.js';

const fixture = readFileSync(new URL('./fixtures/rundeck-export.yaml', import.meta.url), 'utf8');

/** Runs `fn`, which must throw a TandemError, and returns it. */
function caught(fn: () => unknown): TandemError {
  try {
    fn();
  } catch (e) {
    if (e instanceof TandemError) return e;
    throw e;
  }
  throw new Error('expected a TandemError, nothing was thrown');
}

t.test('a Rundeck 5 export imports with every interpreted field', async (t) => {
  const { jobs, warnings } = parseJobs(fixture, 'yaml');
  t.equal(jobs.length, 2);
  const [backup, register] = jobs as [(typeof jobs)[0], (typeof jobs)[0]];

  t.equal(backup.uuid, '4f1c2a7e-8d3b-4c5e-9f60-1a2b3c4d5e6f');
  t.equal(backup.name, 'nightly-backup');
  t.equal(backup.group, 'ops/db');
  t.equal(backup.description, 'Nightly database backup.\nUploads the dump to the archive bucket.');
  t.equal(backup.loglevel, 'INFO');
  t.equal(backup.nodeFilter, 'name: localhost');
  t.same(backup.schedule, { kind: 'quartz', crontab: '0 30 2 ? * MON-FRI *', timeZone: 'Europe/Berlin' });
  t.equal(backup.scheduleEnabled, true);
  t.equal(backup.executionEnabled, true);
  t.equal(backup.multipleExecutions, false);
  t.equal(backup.timeoutMs, 90 * 60_000, 'timeout 1h30m');
  t.same(backup.retry, { count: 3, delayMs: 30_000 }, 'retry {retry: "3", delay: 30s}');
  t.same(backup.notification, {
    onsuccess: ['https://hooks.example.org/ok'],
    onfailure: ['https://hooks.example.org/fail', 'https://pager.example.org/alert?team=db'],
    onstart: [],
  });

  t.same(
    backup.options.map((o) => [o.name, o.required, o.enforced, o.secure, o.defaultValue, o.values, o.regex]),
    [
      ['env', true, true, false, 'staging', ['staging', 'prod'], undefined],
      ['retention_days', false, false, false, '14', undefined, '[0-9]+'],
      ['db.password', true, false, true, undefined, undefined, undefined],
    ],
  );
  t.same(backup.options[2]!.extra, { storagePath: 'keys/project/ops/db.password', valueExposed: true });

  const steps = backup.sequence.steps;
  t.same(backup.sequence.keepgoing, false);
  t.equal(backup.sequence.strategy, 'node-first');
  t.equal(steps.length, 4);
  t.match(steps[0], { kind: 'exec', exec: 'pg_dump --dbname=app_${option.env} --file=/tmp/app.sql', description: 'dump' });
  t.match(steps[1], {
    kind: 'script',
    args: '${option.env} ${option.retention_days}',
    interpreter: '/bin/bash',
    extra: { fileExtension: '.sh', interpreterArgsQuoted: false },
  });
  t.equal(steps[1]!.kind === 'script' && steps[1]!.script.split('\n')[0], '#!/bin/bash');
  t.same(steps[2], {
    kind: 'jobref',
    ref: { group: 'ops/catalog', name: 'register-backup', args: '-env ${option.env}' },
    description: 'notify the catalog',
    extra: { jobref: { nodeStep: 'true', importOptions: true } },
  });
  t.same(steps[3], { kind: 'jobref', ref: { uuid: '9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d' }, extra: { jobref: { useName: 'false' } } });

  t.same(register.schedule, {
    kind: 'structured',
    time: { seconds: '0', minute: '15', hour: '06' },
    month: '*',
    weekday: { day: 'MON,WED,FRI' },
    year: '*',
    timeZone: 'America/New_York',
  });
  t.equal(register.scheduleEnabled, false);
  t.equal(register.multipleExecutions, true);
  t.equal(register.timeoutMs, 300_000, 'timeout "300" is seconds');
  t.same(register.retry, { count: 2, delayMs: 0 }, "retry: '2'");
  t.equal(register.sequence.keepgoing, true);
  t.equal(register.sequence.strategy, 'sequential');
  t.equal(register.description, '');

  t.same(backup.extra.plugins, { ExecutionLifecycle: { killhandler: { killChilds: 'true' } } }, 'unknown top-level fields are kept');
  t.same(backup.email, { onfailure: { recipients: ['oncall@example.org'], subject: 'Backup failed', attachLog: true } }, 'e-mail notification interpreted');
  t.notOk(warnings.some((w) => /email/.test(w)), 'no warning for e-mail notifications');
  for (const w of [
    'jobs[0].plugins: unknown field, kept',
    'jobs[0].defaultTab: unknown field, kept',
    'jobs[0].options[2].valueExposed: unknown field, kept',
    'jobs[0].sequence.commands[2].jobref.nodeStep: unknown field, kept',
    'jobs[0].sequence.pluginConfig: unknown field, kept',
    'jobs[1].plugins: unknown field, kept',
  ]) {
    t.ok(warnings.includes(w), w);
  }
  t.notOk(warnings.includes('jobs[0].nodefilters.dispatch: unknown field, kept'), 'nodefilters.dispatch is honoured (server/nodes/), not merely kept');
  t.equal(new Set(warnings).size, warnings.length, 'one warning per field');
  t.notOk(warnings.some((w) => /\.(name|uuid|schedule|sequence|options|timeZone|retry|timeout):/.test(w)), 'no warning for interpreted fields');
});

t.test('export gives back the Rundeck document, unknown fields included, and re-imports equal', async (t) => {
  const { jobs } = parseJobs(fixture, 'yaml');
  const original = parseYaml(fixture) as Array<Record<string, unknown>>;
  for (const format of ['yaml', 'json'] as const) {
    const text = exportJobs(jobs, format);
    const again = parseJobs(text, format);
    t.same(again.jobs, jobs, `${format}: parse(export(x)) equals x`);
    const exported = (format === 'yaml' ? parseYaml(text) : JSON.parse(text)) as Array<Record<string, unknown>>;
    t.ok(Array.isArray(exported), `${format}: exported as a list of jobs`);
    for (const key of ['plugins', 'nodefilters', 'notification', 'options', 'schedule', 'timeZone', 'defaultTab', 'id', 'uuid', 'group', 'schedules', 'nodesSelectedByDefault']) {
      t.same(exported[0]![key], original[0]![key], `${format}: ${key} exported as imported`);
    }
    t.same(exported[1]!.schedule, original[1]!.schedule, `${format}: structured schedule exported as imported`);
    t.same(exported[0]!.sequence, original[0]!.sequence, `${format}: sequence with script, jobrefs and pluginConfig exported as imported`);
    t.same(exported[0]!.retry, original[0]!.retry);
    t.equal(exported[0]!.timeout, '1h30m');
    t.equal(exported[1]!.timeout, '5m', '"300" seconds is written as 5m');
    t.same(Object.keys(exported[0]!), Object.keys(exported[0]!).sort(), `${format}: keys in alphabetical order like Rundeck`);
    t.same([...again.warnings].sort(), [...parseJobs(fixture, 'yaml').warnings].sort(), `${format}: the same unknown fields are reported again`);
  }
});

t.test('a single job mapping and JSON input are accepted', async (t) => {
  const single = parseJobs('name: hello\nsequence:\n  commands:\n  - exec: echo hi\n', 'yaml');
  t.equal(single.jobs.length, 1);
  t.same(single.warnings, []);
  t.same(single.jobs[0], {
    name: 'hello',
    options: [],
    sequence: { keepgoing: false, strategy: 'node-first', steps: [{ kind: 'exec', exec: 'echo hi', extra: {} }] },
    scheduleEnabled: true,
    executionEnabled: true,
    retry: { count: 0, delayMs: 0 },
    multipleExecutions: false,
    loglevel: 'INFO',
    notification: { onsuccess: [], onfailure: [], onstart: [] },
    extra: {},
  });
  const json = parseJobs(
    JSON.stringify([{ name: 'j', schedule: { crontab: '*/5 * * * *' }, timeZone: 'UTC', sequence: { commands: [{ exec: 'true' }] }, options: { env: { required: true } } }]),
    'json',
  );
  t.same(json.jobs[0]!.schedule, { kind: 'cron5', expression: '*/5 * * * *', timeZone: 'UTC' }, 'a 5-field crontab is plain cron');
  t.same(json.jobs[0]!.options.map((o) => [o.name, o.required]), [['env', true]], 'options as a mapping by name (older exports)');
  t.same(parseJobs('[]', 'json').jobs, [], 'an empty list imports nothing');
});

t.test('invalid YAML and JSON: invalid_yaml with line and column', async (t) => {
  let e = caught(() => parseJobs('- name: a\n  sequence: [1, 2\n- name: b\n', 'yaml'));
  t.equal(e.code, 'invalid_yaml');
  t.equal(e.status, 400);
  t.match(e.message, /line \d+, column \d+/);
  t.type(e.details?.line, 'number');

  e = caught(() => parseJobs('name: a\nname: b\n', 'yaml'));
  t.equal(e.code, 'invalid_yaml');
  t.same([e.details?.line, e.details?.column], [2, 1], 'duplicate key at line 2, column 1');
  t.match(e.message, 'line 2, column 1');

  e = caught(() => parseJobs('- name: a\n  sequence:\n\t- exec: x\n', 'yaml'));
  t.equal(e.details?.line, 3, 'tab indentation is reported on its line');

  e = caught(() => parseJobs('[\n  {"name": "a",}\n]', 'json'));
  t.equal(e.code, 'invalid_yaml');
  t.same([e.details?.line, e.details?.column], [2, 16], 'trailing comma: position from JSON.parse');
  t.match(e.message, /^invalid JSON at line 2, column 16: /);

  e = caught(() => parseJobs('[{"name":\n   abc}]', 'json'));
  t.same([e.details?.line, e.details?.column], [2, 4], 'unexpected token: located although V8 gives no position');

  e = caught(() => parseJobs('[{"name": "a"', 'json'));
  t.same([e.details?.line, e.details?.column], [1, 14], 'truncated document');

  e = caught(() => parseJobs('\n', 'json'));
  t.same([e.details?.line, e.details?.column], [2, 1]);
  t.match(e.message, 'unexpected end of input');
});

const job = (extra: string, schedule = '') =>
  `- name: j\n  uuid: 3f2a8d1e-5b7c-4e0a-9c1d-2e3f4a5b6c7d\n${schedule}  sequence:\n    commands:\n    - exec: echo\n${extra}`;

t.test('invalid content: the error names the field, with its line and column', async (t) => {
  const cases: Array<[string, string, string, string, number?]> = [
    ['bad crontab', job('', '  schedule:\n    crontab: 0 0 25 ? * * *\n'), 'invalid_cron', 'jobs[0].schedule.crontab', 4],
    ['bad time zone', job('  timeZone: Mars/Olympus\n', '  schedule:\n    crontab: 0 0 2 ? * * *\n'), 'invalid_cron', 'jobs[0].timeZone', 8],
    ['bad structured hour', job('', "  schedule:\n    time: {hour: '24', minute: '0'}\n    weekday: {day: '*'}\n    month: '*'\n"), 'invalid_cron', 'jobs[0].schedule.time.hour', 4],
    ['both day fields', job('', '  schedule:\n    crontab: 0 0 2 1 * MON *\n'), 'invalid_cron', 'jobs[0].schedule.crontab'],
    ['missing name', '- sequence:\n    commands:\n    - exec: x\n', 'validation_failed', 'jobs[0].name', 1],
    ['not a uuid', job('').replace('3f2a8d1e-5b7c-4e0a-9c1d-2e3f4a5b6c7d', 'abc'), 'validation_failed', 'jobs[0].uuid', 2],
    ['no steps', '- name: j\n  sequence:\n    commands: []\n', 'validation_failed', 'jobs[0].sequence.commands', 3],
    ['unsupported step', '- name: j\n  sequence:\n    commands:\n    - scriptfile: /x.sh\n', 'validation_failed', 'jobs[0].sequence.commands[0]', 4],
    ['two kinds in a step', '- name: j\n  sequence:\n    commands:\n    - exec: a\n      script: b\n', 'validation_failed', 'jobs[0].sequence.commands[0]'],
    ['jobref without target', '- name: j\n  sequence:\n    commands:\n    - jobref: {group: a}\n', 'validation_failed', 'jobs[0].sequence.commands[0].jobref'],
    ['enforced without values', job('  options:\n  - name: env\n    enforced: true\n'), 'validation_failed', 'jobs[0].options[0].values', 7],
    ['default not allowed', job('  options:\n  - name: env\n    enforced: true\n    value: qa\n    values: [dev, prod]\n'), 'validation_failed', 'jobs[0].options[0].value', 9],
    ['bad regex', job("  options:\n  - name: n\n    regex: '[0-9'\n"), 'validation_failed', 'jobs[0].options[0].regex', 8],
    ['default not matching regex', job("  options:\n  - name: n\n    regex: '[0-9]+'\n    value: abc\n"), 'validation_failed', 'jobs[0].options[0].value'],
    ['bad option name', job("  options:\n  - name: 'a b'\n"), 'validation_failed', 'jobs[0].options[0].name'],
    ['options colliding in the environment', job('  options:\n  - name: a-b\n  - name: a.b\n'), 'validation_failed', 'jobs[0].options[1].name'],
    ['bad timeout', job('  timeout: soon\n'), 'validation_failed', 'jobs[0].timeout', 6],
    ['bad retry', job("  retry: 'often'\n"), 'validation_failed', 'jobs[0].retry'],
    ['retry from an option', job("  retry: '${option.n}'\n"), 'validation_failed', 'jobs[0].retry'],
    ['bad retry delay', job("  retry: {retry: '2', delay: 'later'}\n"), 'validation_failed', 'jobs[0].retry.delay'],
    ['bad webhook', job('  notification:\n    onsuccess:\n      urls: ftp://x.example.org/\n'), 'validation_failed', 'jobs[0].notification.onsuccess.urls', 8],
    ['bad loglevel', job('  loglevel: LOUD\n'), 'validation_failed', 'jobs[0].loglevel'],
    ['bad boolean', job('  multipleExecutions: maybe\n'), 'validation_failed', 'jobs[0].multipleExecutions'],
    ['duplicate uuid', job('') + job('').replace('name: j', 'name: k'), 'validation_failed', 'jobs[1].uuid'],
    ['duplicate group and name', '- name: j\n  sequence: {commands: [{exec: a}]}\n- name: j\n  sequence: {commands: [{exec: b}]}\n', 'validation_failed', 'jobs[1].name'],
    ['a job that is not a mapping', '- just a string\n', 'validation_failed', 'jobs[0]'],
  ];
  for (const [what, text, code, field, line] of cases) {
    const e = caught(() => parseJobs(text, 'yaml'));
    t.equal(e.code, code, `${what}: code`);
    t.equal(e.field, field, `${what}: field`);
    t.equal(e.status, 400, `${what}: status`);
    t.ok(e.message.startsWith(`${field}: `), `${what}: message starts with the field: ${e.message}`);
    if (line !== undefined) {
      t.equal(e.details?.line, line, `${what}: line`);
      t.match(e.message, new RegExp(`\\(line ${line}, column \\d+\\)$`), `${what}: line in the message`);
    }
  }
  const e = caught(() => parseJobs('[{"name": "j", "sequence": {"commands": [{"exec": "x"}]},\n  "schedule": {"crontab": "* * *"}}]', 'json'));
  t.equal(e.field, 'jobs[0].schedule.crontab', 'JSON content errors name the field');
  t.equal(e.details?.line, 2, 'and the line in the JSON text');
});

t.test('durations and retry forms', async (t) => {
  const timeout = (v: string) => parseJobs(job(`  timeout: '${v}'\n`), 'yaml').jobs[0]!.timeoutMs;
  t.equal(timeout('90s'), 90_000);
  t.equal(timeout('300'), 300_000);
  t.equal(timeout('1h30m'), 5_400_000);
  t.equal(timeout('1d 2h'), 93_600_000);
  t.equal(timeout('0'), undefined, 'zero means no timeout');
  const retry = (v: string) => parseJobs(job(`  retry: ${v}\n`), 'yaml').jobs[0]!.retry;
  t.same(retry('3'), { count: 3, delayMs: 0 });
  t.same(retry("{retry: '1', delay: 2m}"), { count: 1, delayMs: 120_000 });
  t.equal(parseJobs(job('  loglevel: debug\n'), 'yaml').jobs[0]!.loglevel, 'DEBUG', 'log level in any case');
});

t.test('unusual but valid forms round-trip through export', async (t) => {
  const text = JSON.stringify([
    {
      id: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
      name: 'only-id',
      description: null,
      executionEnabled: 'false',
      options: { region: { values: 'eu, us ,ap', enforced: 'true', value: 'eu' }, 'build.no': { regex: '\\d+' } },
      sequence: {
        strategy: '',
        commands: [
          { exec: 'make', errorhandler: { exec: 'echo failed' }, description: 'build' },
          { script: 'echo $1', args: 42 },
          { jobref: { name: 'top-level-job', project: 'other' } },
        ],
      },
      nodefilters: { dispatch: { threadcount: '2' } },
      notification: { onstart: { urls: ['http://a.example.org/s', ' http://b.example.org/s '] }, onavgduration: { urls: 'http://c.example.org' } },
      timeZone: 'Asia/Tokyo',
      retry: { retry: '0', delay: '1m' },
      timeout: '1w',
    },
    {
      name: 'monthly',
      group: 'g',
      schedule: { time: { hour: 3, minute: 5 }, dayofmonth: { day: 'L' }, month: 'JAN-JUN', year: '2026-2030' },
      sequence: { commands: [{ exec: 'true' }] },
    },
  ]);
  const first = parseJobs(text, 'json');
  const [onlyId, monthly] = first.jobs as [(typeof first.jobs)[0], (typeof first.jobs)[0]];
  t.equal(onlyId.uuid, 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', 'an export with only `id` gives the uuid');
  t.equal(onlyId.executionEnabled, false, "'false' is false");
  t.same(onlyId.options[0]!.values, ['eu', 'us', 'ap'], 'values as one comma-separated string');
  t.equal(onlyId.sequence.strategy, 'node-first');
  t.same(onlyId.sequence.steps[0]!.extra, { errorhandler: { exec: 'echo failed' } });
  t.same(onlyId.sequence.steps[1], { kind: 'script', script: 'echo $1', args: '42', extra: {} });
  t.same(onlyId.sequence.steps[2], { kind: 'jobref', ref: { name: 'top-level-job', project: 'other' }, extra: {} });
  t.equal(onlyId.nodeFilter, undefined);
  t.same(onlyId.notification.onstart, ['http://a.example.org/s', 'http://b.example.org/s']);
  t.equal(onlyId.schedule, undefined);
  t.equal(onlyId.extra.timeZone, 'Asia/Tokyo', 'a time zone without a schedule is kept');
  t.same(onlyId.retry, { count: 0, delayMs: 60_000 });
  t.equal(onlyId.timeoutMs, 7 * 86_400_000);
  t.same(monthly.schedule, { kind: 'structured', time: { hour: '3', minute: '5' }, dayofmonth: { day: 'L' }, month: 'JAN-JUN', year: '2026-2030' });
  for (const format of ['yaml', 'json'] as const) {
    const again = parseJobs(exportJobs(first.jobs, format), format);
    t.same(again.jobs, first.jobs, `${format}: parse(export(x)) equals x`);
  }
  const exported = parseYaml(exportJobs(first.jobs, 'yaml')) as Array<Record<string, unknown>>;
  t.same(exported[0]!.nodefilters, { dispatch: { threadcount: '2' } }, 'nodefilters without a filter are kept');
  t.same(exported[0]!.notification, {
    onavgduration: { urls: 'http://c.example.org' },
    onstart: { urls: 'http://a.example.org/s,http://b.example.org/s' },
  }, 'URLs are written comma-separated, as Rundeck does');
});

t.test('hostile documents', async (t) => {
  const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 0; i < 9; i++) bomb.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`);
  t.throws(() => parseJobs(bomb.join('\n'), 'yaml'), 'alias expansion is bounded');
  t.throws(() => parseJobs('- name: a\n  sequence: {commands: [{exec: x}]}\n---\n- name: b\n', 'yaml'), { code: 'invalid_yaml' }, 'one document only');
  t.throws(() => parseJobs('"just a string"', 'json'), { code: 'validation_failed', field: 'jobs' });
  t.throws(() => parseJobs('', 'yaml'), { code: 'validation_failed', field: 'jobs' }, 'empty document');
  const proto = '[{"name": "x", "sequence": {"commands": [{"exec": "x"}]}, "__proto__": {"polluted": true}, "plugins": {"__proto__": {"x": 1}}}]';
  for (const format of ['json', 'yaml'] as const) {
    const { jobs, warnings } = parseJobs(proto, format);
    t.ok(Object.hasOwn(jobs[0]!.extra, '__proto__'), `${format}: a __proto__ key is kept as data`);
    t.ok(warnings.includes('jobs[0].__proto__: unknown field, kept'));
    const exported = exportJobs(jobs, 'json');
    t.match(exported, '"__proto__": {\n      "polluted": true', `${format}: and exported back`);
    t.match(exported, '"__proto__": {\n        "x": 1', `${format}: nested too`);
    t.same(parseJobs(exported, 'json').jobs, jobs);
  }
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
  t.throws(() => parseJobs('[{"name": "x", "sequence": {"commands": [{"exec": "x"}]}, "options": [{"name": "__proto__"}]}]', 'json'), { code: 'validation_failed', field: 'jobs[0].options[0].name' }, 'no option named __proto__');
});
