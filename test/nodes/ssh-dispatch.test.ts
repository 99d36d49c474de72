/**
 * End to end: a Rundeck-YAML job with nodefilters, imported into a real job
 * server, runs over SSH on the matching nodes only (private sshd servers),
 * with its key stored through the Key Storage API and the nodes from a file
 * source; an unreachable node fails alone with its reason.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../server/embedded/net.js';
import { startPostgres } from '../harness/postgres.js';
import { keyPair, startSshd } from '../harness/sshd.js';
import { tempDir } from '../harness/tmp.js';
import { MASTER_KEY_1 } from '../keys/fixtures.js';
import { readOutput, startTestServer, waitForEnd, yamlHeaders } from '../server/helpers.js';

t.test('jobs over SSH', async (t) => {
  const pg = await startPostgres(t, { name: 'ssh-dispatch' });
  const ts = await startTestServer(t, pg, { overrides: { 'keyStorage.masterKey': MASTER_KEY_1 } });
  const dir = await tempDir(t, 'ssh-dispatch');
  const key = keyPair(dir, 'id');
  const [web1, web2, db1] = await Promise.all([0, 1, 2].map(() => startSshd(t, { authorizedKeys: [key.publicKey] })));
  const gonePort = await freePort();

  t.equal((await ts.api('POST', '/api/v1/projects', { name: 'ops' })).status, 201);
  const stored = await fetch(`${ts.url}/api/v1/storage/keys/project/ops/id`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ts.token}`, 'content-type': 'application/octet-stream' },
    body: key.privateKey,
  });
  t.equal(stored.status, 201);
  const nodesFile = path.join(dir, 'nodes.yaml');
  const entry = (name: string, hostname: string, tags: string) =>
    `${name}:\n  hostname: ${hostname}\n  username: root\n  tags: ${tags}\n  ssh-key-storage-path: keys/project/\${job.project}/id\n`;
  writeFileSync(nodesFile, entry('web1', web1!.hostname, 'web') + entry('web2', web2!.hostname, 'web') + entry('db1', db1!.hostname, 'db') + entry('gone', `127.0.0.1:${gonePort}`, 'old'));
  const put = await ts.api('PUT', '/api/v1/projects/ops/sources', { sources: [{ type: 'file', file: nodesFile }] });
  t.equal(put.status, 200, put.text);

  const importYaml = async (yaml: string): Promise<string> => {
    const r = await ts.api('POST', '/api/v1/projects/ops/jobs', yaml, yamlHeaders());
    if (r.status !== 201) throw new Error(`import failed: ${r.text}`);
    return r.body.jobs[0].id;
  };
  const run = async (id: string) => {
    const r = await ts.api('POST', `/api/v1/jobs/${id}/run`, {});
    if (r.status !== 201) throw new Error(`run failed: ${r.status} ${r.text}`);
    return waitForEnd(ts, r.body.id);
  };
  const serverPort = (line: string) => line.split(' ').pop();

  await t.test('a Rundeck-YAML job with nodefilters runs over SSH on the matching nodes only', async (t) => {
    const id = await importYaml(`
  - name: deploy
    nodefilters:
      filter: 'tags: web'
      dispatch:
        threadcount: 2
    sequence:
      commands:
        - exec: echo "\${node.name} $(whoami) $SSH_CONNECTION"
        - script: |
            echo "script @node.name@ in $0"
  `);
    const e = await run(id);
    t.equal(e.status, 'succeeded', e.statusReason);
    t.same([...e.targetNodes].sort(), ['web1', 'web2']);
    t.same([...e.successfulNodes].sort(), ['web1', 'web2']);
    const out = (await readOutput(ts, e.id)).filter((x: any) => x.stream === 'stdout');
    const first = (node: string) => out.find((x: any) => x.node === node && x.text.startsWith(node))?.text ?? '';
    t.match(first('web1'), /^web1 root 127\.0\.0\.1 \d+ 127\.0\.0\.1 \d+$/);
    t.equal(serverPort(first('web1')), String(web1!.port), 'web1 ran on its own sshd');
    t.equal(serverPort(first('web2')), String(web2!.port), 'web2 ran on its own sshd');
    t.ok(out.some((x: any) => x.node === 'web1' && /^script web1 in \/tmp\/.*dispatch-script\.tmp\.sh$/.test(x.text)), 'the script was copied and run on the node');
    t.notOk(out.some((x: any) => x.node === 'db1'), 'db1 does not match the filter');
    const keys = await ts.api('GET', '/api/v1/projects/ops/ssh/host-keys');
    t.same(keys.body.hostKeys.map((k: any) => k.node).sort(), ['web1', 'web2'], 'host keys recorded at first contact');
  });

  await t.test('an unreachable node fails alone, with the reason', async (t) => {
    const id = await importYaml(`
  - name: everywhere
    nodefilters:
      filter: 'tags: db,old'
      dispatch:
        keepgoing: true
    sequence:
      commands:
        - exec: echo ok
  `);
    const e = await run(id);
    t.equal(e.status, 'failed');
    t.same(e.successfulNodes, ['db1']);
    t.same(e.failedNodes, ['gone']);
    const step = e.steps.find((s: any) => s.node === 'gone');
    t.match(step.message, /node gone \(root@127\.0\.0\.1:\d+\): connection refused/);
  });
});
