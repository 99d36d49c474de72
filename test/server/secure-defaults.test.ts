// A secure option's default value is shown (and exported) only to callers allowed to update the job.
import t from 'tap';
import { parse as parseYaml } from 'yaml';
import { createToken } from '../../server/auth/tokens.js';
import { startPostgres } from '../harness/postgres.js';
import { startTestServer, yamlHeaders } from './helpers.js';

const JOB = `
- uuid: 5e0c1f6a-3333-4c3a-9d7e-5d0f2b7a0003
  name: backup
  options:
  - name: dbpass
    secure: true
    value: s3cret-default-Xy9
  - name: target
    value: /srv/backup
  sequence:
    commands:
    - exec: echo backing up to \${option.target}
`;

t.test('secure option defaults: hidden from readers, kept for editors, used by runs', async (t) => {
  const pg = await startPostgres(t, { name: 'secure-defaults' });
  const ts = await startTestServer(t, pg);
  t.equal((await ts.api('POST', '/api/v1/projects', { name: 'ops' })).status, 201);
  const imported = await ts.api('POST', '/api/v1/projects/ops/jobs', JOB, yamlHeaders());
  t.equal(imported.status, 201);
  const id = imported.body.jobs[0].id as string;

  const reader = (await createToken(ts.pool, { user: 'rita', roles: ['user'] })).token;
  const asReader = async (p: string) => {
    const r = await fetch(ts.url + p, { headers: { authorization: `Bearer ${reader}` } });
    return { status: r.status, text: await r.text() };
  };

  // A reader: the default is neither in the JSON view nor in either export, and the view says one is set.
  const view = await asReader(`/api/v1/jobs/${id}`);
  t.equal(view.status, 200);
  t.notMatch(view.text, 's3cret-default-Xy9', 'not in the JSON view');
  const options = JSON.parse(view.text).definition.options;
  t.same(options.find((o: any) => o.name === 'dbpass'), { name: 'dbpass', secure: true, required: false, enforced: false, extra: {}, defaultHidden: true }, 'the view says a default is set');
  t.equal(options.find((o: any) => o.name === 'target').defaultValue, '/srv/backup', 'plain defaults are shown');
  for (const p of [`/api/v1/jobs/${id}?format=yaml`, `/api/v1/jobs/${id}?format=json`, '/api/v1/projects/ops/jobs?format=yaml']) {
    const r = await asReader(p);
    t.equal(r.status, 200, p);
    t.notMatch(r.text, 's3cret-default-Xy9', `not in ${p}`);
  }
  const exported = parseYaml((await asReader(`/api/v1/jobs/${id}?format=yaml`)).text);
  t.same(exported[0].options.find((o: any) => o.name === 'dbpass'), { name: 'dbpass', secure: true }, 'the export has the option without its value');

  // An editor (admin) sees it, so that export → import keeps the job whole.
  const adminView = await ts.api('GET', `/api/v1/jobs/${id}`);
  t.equal(adminView.body.definition.options.find((o: any) => o.name === 'dbpass').defaultValue, 's3cret-default-Xy9', 'an editor sees the default');
  const backup = await ts.api('GET', `/api/v1/jobs/${id}?format=yaml`);
  t.match(backup.text, 's3cret-default-Xy9', 'and exports it');

  // The default is still what a run uses when nobody gives a value (masked in the record).
  const run = await ts.api('POST', `/api/v1/jobs/${id}/run`, {});
  t.equal(run.status, 201);
  t.equal(run.body.options.dbpass, '****', 'a run with the default has it masked');
});
