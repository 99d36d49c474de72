/**
 * E-mail notifications (server/executions/README.md): Rundeck's `notification.<event>.email`
 * sent through a real SMTP server (the `smtp-server` package, on loopback)
 * by one real job server: recipients, subject template, the log attached;
 * `onavgduration`; a slow SMTP server never holds an execution up; a refused
 * delivery is logged and counted in /metrics and changes nothing else.
 */
import t from 'tap';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { startPostgres } from '../harness/postgres.js';
import { readOutput, startTestServer, waitFor, waitForEnd } from './helpers.js';

interface Mail {
  to: string[];
  raw: string;
}

/** The header `name` of a raw message (unfolded). */
function header(raw: string, name: string): string | undefined {
  const head = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
  return new RegExp(`^${name}: (.*)$`, 'mi').exec(head)?.[1];
}

/** The decoded body of the MIME part whose headers name `filename`. */
function attachment(raw: string, filename: string): string | undefined {
  const parts = raw.split(/\r\n--[^\r\n]+\r\n/);
  const part = parts.find((p) => p.includes(`filename=${filename}`) || p.includes(`filename="${filename}"`));
  if (!part) return undefined;
  const split = part.indexOf('\r\n\r\n');
  const headers = part.slice(0, split);
  const body = part.slice(split + 4).replace(/\r\n--[^\r\n]+--\r\n?$/, '');
  if (/Content-Transfer-Encoding: base64/i.test(headers)) return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (/Content-Transfer-Encoding: quoted-printable/i.test(headers)) {
    return Buffer.from(body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
  }
  return body;
}

t.test('e-mail notifications', async (t) => {
  const mails: Mail[] = [];
  /** Deliveries to slow@ wait here until the test lets them through. */
  let releaseSlow: (() => void) | undefined;
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, cb) {
      if (address.address.startsWith('refused@')) return cb(new Error('550 no such mailbox'));
      if (address.address.startsWith('slow@')) {
        releaseSlow = () => cb();
        return;
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
        cb();
      });
    },
  });
  smtp.listen(0, '127.0.0.1');
  await once(smtp.server, 'listening');
  t.teardown(() => new Promise<void>((r) => smtp.close(() => r())));
  const smtpPort = (smtp.server.address() as AddressInfo).port;

  const pg = await startPostgres(t, { name: 'email' });
  const ts = await startTestServer(t, pg, {
    overrides: { 'notifications.smtp.host': '127.0.0.1', 'notifications.smtp.port': smtpPort, 'notifications.smtp.from': 'tandem@example.org' },
  });
  await ts.api('POST', '/api/v1/projects', { name: 'ops' });
  const importJob = async (job: Record<string, unknown>) => {
    const r = await ts.api('POST', '/api/v1/projects/ops/jobs', [job], { 'content-type': 'application/json' });
    if (r.status !== 201) throw new Error(`import: ${r.text}`);
    return r.body.jobs[0].id as string;
  };
  const mailsTo = (addr: string) => mails.filter((m) => m.to.includes(addr));

  await t.test('onstart and onsuccess: recipients, subject template, the log attached', async (t) => {
    const id = await importJob({
      name: 'backup',
      group: 'db',
      options: [{ name: 'pw', secure: true }],
      sequence: { commands: [{ exec: 'echo "backup done with $TANDEM_OPTION_PW"' }] },
      notification: {
        onstart: { email: { recipients: 'ops@example.org' } },
        onsuccess: { email: { recipients: 'ops@example.org,lead@example.org', subject: '${job.status}: ${job.group}/${job.name} #${execution.id}', attachLog: true } },
      },
    });
    const run = await ts.api('POST', `/api/v1/jobs/${id}/run`, { options: { pw: 'secure-option-fixture-mail' } });
    const done = await waitForEnd(ts, run.body.id);
    t.equal(done.status, 'succeeded');
    await waitFor('both mails', async () => mailsTo('lead@example.org').length === 1 && mailsTo('ops@example.org').length === 2);
    const start = mailsTo('ops@example.org').find((m) => !m.to.includes('lead@example.org'))!;
    t.equal(header(start.raw, 'Subject'), `[ops] running db/backup #${run.body.id}`, 'default subject');
    t.equal(header(start.raw, 'From'), 'tandem@example.org');
    const end = mailsTo('lead@example.org')[0]!;
    t.same(end.to.sort(), ['lead@example.org', 'ops@example.org']);
    t.equal(header(end.raw, 'Subject'), `succeeded: db/backup #${run.body.id}`);
    const log = attachment(end.raw, `${run.body.id}.log`);
    t.ok(log, 'the log is attached');
    t.match(log, /backup done with \*\*\*\*/, 'it holds the output, secure values masked');
    t.notOk(end.raw.includes('secure-option-fixture'), 'the secure value is nowhere in the mail');
    const out = await readOutput(ts, run.body.id);
    t.equal(log!.trim().split('\n').length, out.length, 'every log line is in the attachment');
  });

  await t.test('a slow SMTP server never holds up the execution', async (t) => {
    const id = await importJob({
      name: 'quick',
      sequence: { commands: [{ exec: 'true' }] },
      notification: { onsuccess: { email: { recipients: 'slow@example.org' } } },
    });
    const run = await ts.api('POST', `/api/v1/jobs/${id}/run`, {});
    const done = await waitForEnd(ts, run.body.id);
    t.equal(done.status, 'succeeded', 'ended while its mail was still being delivered');
    await waitFor('the SMTP server to hold the delivery', async () => !!releaseSlow);
    t.equal(mailsTo('slow@example.org').length, 0, 'not delivered yet');
    releaseSlow!();
    await waitFor('the held mail', async () => mailsTo('slow@example.org').length === 1);
    t.pass('delivered once the server answered');
  });

  await t.test('onfailure: a refused delivery is logged and counted, the execution unchanged', async (t) => {
    const metric = async () => {
      const m = await ts.api('GET', '/metrics');
      return Number(/^tandem_notifications_total\{kind="email",event="onfailure",outcome="failed"[^}]*\} (\d+)/m.exec(m.text)?.[1] ?? 0);
    };
    const before = await metric();
    const id = await importJob({
      name: 'broken',
      sequence: { commands: [{ exec: 'exit 3' }] },
      notification: { onfailure: { email: { recipients: 'refused@example.org' } } },
    });
    const done = await waitForEnd(ts, (await ts.api('POST', `/api/v1/jobs/${id}/run`, {})).body.id);
    t.equal(done.status, 'failed');
    t.match(done.statusReason, /exit code 3/, 'the reason is the step\'s, not the mail\'s');
    await waitFor('the failed delivery to be counted', async () => (await metric()) === before + 1);
    t.pass('tandem_notifications_total{kind="email",event="onfailure",outcome="failed"} went up by one');
  });

  await t.test('onavgduration: a run longer than the job\'s average sends its mail while it runs', async (t) => {
    const id = await importJob({
      name: 'usually-fast',
      options: [{ name: 'sleep', value: '0' }],
      sequence: { commands: [{ exec: 'sleep "$TANDEM_OPTION_SLEEP"' }] },
      notification: { onavgduration: { email: { recipients: 'watch@example.org', subject: '${job.name} is slow' } } },
    });
    t.equal((await waitForEnd(ts, (await ts.api('POST', `/api/v1/jobs/${id}/run`, {})).body.id)).status, 'succeeded');
    t.equal(mailsTo('watch@example.org').length, 0, 'no mail for a run that has no average to exceed');
    const slow = await ts.api('POST', `/api/v1/jobs/${id}/run`, { options: { sleep: '30' } });
    await waitFor('the average-duration mail', async () => mailsTo('watch@example.org').length === 1);
    const now = await ts.api('GET', `/api/v1/executions/${slow.body.id}`);
    t.equal(now.body.status, 'running', 'sent while the execution still runs');
    t.equal(header(mailsTo('watch@example.org')[0]!.raw, 'Subject'), 'usually-fast is slow');
    await ts.api('POST', `/api/v1/executions/${slow.body.id}/abort`);
    await waitForEnd(ts, slow.body.id);
  });

  await t.test('an e-mail address that is not one is refused at import', async (t) => {
    const r = await ts.api('POST', '/api/v1/projects/ops/jobs', [
      { name: 'bad-mail', sequence: { commands: [{ exec: 'true' }] }, notification: { onfailure: { email: { recipients: 'ops, nobody' } } } },
    ]);
    t.equal(r.status, 400);
    t.equal(r.body.error.field, 'jobs[0].notification.onfailure.email.recipients');
  });
});
