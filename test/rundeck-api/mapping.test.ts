/** Pure mapping logic of the Rundeck API (no servers): argString parsing, argstring rebuilding, status mapping, error mapping, dates. */
import t from 'tap';
import { parseArgString } from '../../server/rundeck-api/argstring.js';
import { toRundeckError } from '../../server/rundeck-api/errors.js';
import { parseMultipart } from '../../server/rundeck-api/multipart.js';
import { isSupported, pathVersion } from '../../server/rundeck-api/version.js';
import { argString, dateInfo, rundeckStatus } from '../../server/rundeck-api/views.js';
import type { JobDefinition } from '../../server/jobs/definition.js';

const def = (over: Partial<JobDefinition> = {}): JobDefinition =>
  ({
    name: 'j',
    options: [
      { name: 'env', required: false, enforced: false, secure: false, extra: {} },
      { name: 'pw', required: false, enforced: false, secure: true, extra: {} },
      { name: 'msg', required: false, enforced: false, secure: false, extra: {} },
    ],
    sequence: { keepgoing: false, strategy: 'node-first', steps: [] },
    scheduleEnabled: true,
    executionEnabled: true,
    retry: { count: 0, delayMs: 0 },
    multipleExecutions: false,
    loglevel: 'INFO',
    notification: { onsuccess: [], onfailure: [], onstart: [] },
    extra: {},
    ...over,
  }) as JobDefinition;

t.test('argString parsing', async (t) => {
  t.same(parseArgString('-env prod -msg "two words" -pw \'it s\''), { env: 'prod', msg: 'two words', pw: 'it s' });
  t.same(parseArgString('  -a   -b x '), { a: '', b: 'x' }, 'an option followed by another has the empty value');
  t.same(parseArgString('-n -5'), { n: '-5' }, 'a negative number is a value');
  t.same(parseArgString('-q "say \\"hi\\""'), { q: 'say "hi"' }, 'escaped quote inside double quotes');
  t.same(parseArgString(''), {});
  t.throws(() => parseArgString('-a "open'), { code: 'invalid_option' });
  t.throws(() => parseArgString('value'), { code: 'invalid_option' });
});

t.test('argstring rebuilt in option order, secure masked, quoted when needed', async (t) => {
  t.equal(argString(def(), { msg: 'a b', pw: 'secret', env: 'prod', extra: 'x' }), '-env prod -pw **** -msg "a b" -extra x');
  t.equal(argString(def(), { msg: 'say "hi"' }), '-msg "say \\"hi\\""');
  t.equal(argString(def(), { msg: '' }), '-msg ""');
  t.same(parseArgString(argString(def(), { env: 'x y', msg: 'a"b' })), { env: 'x y', msg: 'a"b' }, 'parse(rebuild(x)) = x');
});

t.test('status mapping', async (t) => {
  const now = new Date('2026-01-01T00:00:00Z');
  const row = (status: any, extra: object = {}) => ({ status, scheduledTime: null, attempt: 1, definition: def(), ...extra });
  t.equal(rundeckStatus(row('queued'), now), 'running');
  t.equal(rundeckStatus(row('queued', { scheduledTime: new Date('2026-01-02T00:00:00Z') }), now), 'scheduled');
  for (const s of ['running', 'succeeded', 'aborted', 'failed', 'timedout']) t.equal(rundeckStatus(row(s), now), s);
  t.equal(rundeckStatus(row('failed', { definition: def({ retry: { count: 2, delayMs: 0 } }) }), now), 'failed-with-retry');
  t.equal(rundeckStatus(row('timedout', { attempt: 2, definition: def({ retry: { count: 2, delayMs: 0 } }) }), now), 'failed-with-retry');
  t.equal(rundeckStatus(row('failed', { attempt: 3, definition: def({ retry: { count: 2, delayMs: 0 } }) }), now), 'failed', 'last attempt');
});

t.test('dates, versions, errors, multipart', async (t) => {
  t.same(dateInfo(new Date(1431536339809)), { unixtime: 1431536339809, date: '2015-05-13T16:58:59Z' });
  t.same([pathVersion('/api/47/projects'), pathVersion('/api/v1/projects'), pathVersion('/api/14')], [47, null, 14]);
  t.same([13, 14, 59, 60].map(isSupported), [false, true, true, false]);
  t.same(toRundeckError(401, { error: { code: 'unauthorized', message: 'm' } }, 29), { status: 403, body: { error: true, errorCode: 'unauthorized', message: 'm', apiversion: 29 } });
  t.same(toRundeckError(404, { error: { code: 'not_found', message: 'x' } }, 14).body.errorCode, 'api.error.item.doesnotexist');
  t.same(toRundeckError(409, { error: { code: 'conflict', message: 'x', rundeckCode: 'api.error.item.alreadyexists' } }, 14).body.errorCode, 'api.error.item.alreadyexists');
  const body = Buffer.from('--b\r\nContent-Disposition: form-data; name="fileformat"\r\n\r\nyaml\r\n--b\r\nContent-Disposition: form-data; name="xmlBatch"; filename="j.yaml"\r\nContent-Type: text/yaml\r\n\r\n- name: x\r\n--b--\r\n');
  const parts = parseMultipart('multipart/form-data; boundary=b', body);
  t.same(parts.map((p) => [p.name, p.filename, p.contentType, p.content.toString()]), [
    ['fileformat', undefined, undefined, 'yaml'],
    ['xmlBatch', 'j.yaml', 'text/yaml', '- name: x'],
  ]);
  t.throws(() => parseMultipart('multipart/form-data', body), { code: 'bad_request' });
  t.throws(() => parseMultipart('multipart/form-data; boundary=b', Buffer.from('--b\r\nContent-Disposition: form-data; name="x"\r\n\r\nno end')), { code: 'bad_request' });
});
