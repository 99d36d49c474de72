/**
 * SSH dispatch across a planned switchover: on the active site a, a key goes
 * into Key Storage, the project gets a file node source (two private sshd
 * nodes that match the job's filter, one that does not) and a Rundeck-YAML
 * job with nodefilters runs on the matching nodes only, recording their host
 * keys. After `tandem failover` to b, b (same keyStorage.masterKey) runs the
 * same job over SSH with the key, node model and host keys replicated from
 * a, without recording any host key again. b had read the project's model
 * while passive, before a set its sources: that cached model must not be used.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { keyPair, startSshd } from '../harness/sshd.js';
import { tempDir } from '../harness/tmp.js';
import { MASTER_KEY_1 } from '../keys/fixtures.js';
import { api, failover, startReplication, startSiteServer, startSites, waitFor, type TestSite } from '../failover/helpers.js';

const JOB = `
- name: deploy
  nodefilters:
    filter: 'tags: web'
    dispatch:
      threadcount: 2
  sequence:
    commands:
      - exec: echo "\${node.name} $(whoami) $SSH_CONNECTION"
`;

t.test('a job with nodefilters runs over SSH on a, and on b after a switchover with the replicated key, model and host keys', async (t) => {
  const sites = await startSites(t);
  const { a, b, token } = sites;
  startReplication(t, a, b);
  const keyStorage = { 'keyStorage.masterKey': MASTER_KEY_1 };
  await startSiteServer(t, a, sites, keyStorage);
  await startSiteServer(t, b, sites, keyStorage);

  const dir = await tempDir(t, 'ssh-failover');
  const key = keyPair(dir, 'id');
  const [web1, web2, db1] = await Promise.all([0, 1, 2].map(() => startSshd(t, { authorizedKeys: [key.publicKey] })));

  t.equal((await api(a, token, 'POST', '/api/v1/projects', { name: 'ops' })).status, 201);
  // An operator looks at b's nodes while it is passive, before a's sources are set: b caches that model.
  await waitFor('project ops replicated to b', async () => (await api(b, token, 'GET', '/api/v1/projects/ops/nodes')).status === 200, 20_000);
  const early = await api(b, token, 'GET', '/api/v1/projects/ops/nodes');
  t.same(early.body.nodes.map((n: any) => n.name), ['localhost'], 'b (passive) serves its model: only the local node yet');
  const stored = await api(a, token, 'POST', '/api/v1/storage/keys/project/ops/id', key.privateKey.toString('utf8'), { 'content-type': 'application/octet-stream' });
  t.equal(stored.status, 201, stored.text);
  const nodesFile = path.join(dir, 'nodes.yaml');
  const entry = (name: string, hostname: string, tags: string) =>
    `${name}:\n  hostname: ${hostname}\n  username: root\n  tags: ${tags}\n  ssh-key-storage-path: keys/project/\${job.project}/id\n`;
  writeFileSync(nodesFile, entry('web1', web1!.hostname, 'web') + entry('web2', web2!.hostname, 'web') + entry('db1', db1!.hostname, 'db'));
  const put = await api(a, token, 'PUT', '/api/v1/projects/ops/sources', { sources: [{ type: 'file', file: nodesFile }] });
  t.equal(put.status, 200, put.text);
  const imported = await api(a, token, 'POST', '/api/v1/projects/ops/jobs', JOB, { 'content-type': 'application/yaml' });
  t.equal(imported.status, 201, imported.text);
  const jobId: string = imported.body.jobs[0].id;

  const run = async (site: TestSite) => {
    const r = await api(site, token, 'POST', `/api/v1/jobs/${jobId}/run`, {});
    if (r.status !== 201) throw new Error(`run on ${site.name} failed: ${r.status} ${r.text}`);
    return waitFor(`execution ${r.body.id} on ${site.name} to end`, async () => {
      const e = await api(site, token, 'GET', `/api/v1/executions/${r.body.id}`);
      return ['succeeded', 'failed', 'aborted', 'timedout'].includes(e.body?.status) ? e.body : undefined;
    }, 30_000);
  };
  const output = async (site: TestSite, id: string) => {
    const entries: any[] = [];
    let offset = 0;
    await waitFor(`log of ${id} on ${site.name}`, async () => {
      const r = await api(site, token, 'GET', `/api/v1/executions/${id}/output?offset=${offset}`);
      if (r.status !== 200) throw new Error(`output: ${r.status} ${r.text}`);
      entries.push(...r.body.entries);
      offset = r.body.nextOffset;
      return r.body.complete;
    });
    return entries.filter((x) => x.stream === 'stdout');
  };
  /** The node each sshd port answered for: `web1 root 127.0.0.1 CLIENT 127.0.0.1 SERVERPORT`. */
  const servedBy = (out: any[]) => Object.fromEntries(out.filter((x) => /^web\d /.test(x.text)).map((x) => [x.node, x.text.split(' ').pop()]));
  const expected = { web1: String(web1!.port), web2: String(web2!.port) };
  const hostKeys = async (site: TestSite) => (await api(site, token, 'GET', '/api/v1/projects/ops/ssh/host-keys')).body.hostKeys;

  const onA = await run(a);
  t.equal(onA.status, 'succeeded', onA.statusReason);
  t.same([...onA.targetNodes].sort(), ['web1', 'web2'], 'on a: only the nodes matching tags: web');
  t.same([...onA.successfulNodes].sort(), ['web1', 'web2']);
  const outA = await output(a, onA.id);
  t.same(servedBy(outA), expected, 'on a: each node ran on its own sshd as root');
  t.notOk(outA.some((x) => x.node === 'db1'), 'db1 does not match the filter');
  const keysA = await hostKeys(a);
  t.same(keysA.map((k: any) => k.node).sort(), ['web1', 'web2'], 'a recorded both host keys at first contact');

  const lines: string[] = [];
  const res = await failover(sites, { to: 'b' }, lines);
  t.equal(res.outcome, 'done', `switchover done: ${lines.at(-1)}`);
  await waitFor('b answers 200 on /health/active', async () => (await fetch(b.url + '/health/active')).status === 200, 10_000);
  t.equal((await api(a, token, 'POST', `/api/v1/jobs/${jobId}/run`, {})).status, 503, 'a (fenced) no longer runs jobs');

  // b's model is the replicated one: same source, same nodes with their attributes.
  const sources = async (site: TestSite) => {
    const r = await api(site, token, 'GET', '/api/v1/projects/ops/sources');
    return { version: r.body?.version, sources: r.body?.sources };
  };
  t.same(await sources(b), await sources(a), 'b has a\'s node sources (same version)');
  const nodes = async (site: TestSite) => {
    const r = await api(site, token, 'GET', `/api/v1/projects/ops/nodes?filter=${encodeURIComponent('tags: web,db')}`);
    if (r.status !== 200) throw new Error(`nodes on ${site.name}: ${r.status} ${r.text}`);
    return r.body.nodes;
  };
  const nodesB = await nodes(b);
  t.same(nodesB.map((n: any) => n.name).sort(), ['db1', 'web1', 'web2'], 'b\'s model has the three nodes');
  t.same(nodesB, await nodes(a), 'with the same tags and attributes as on a');

  t.same(await hostKeys(b), keysA, 'b knows the host keys a accepted (replicated)');
  const onB = await run(b);
  t.equal(onB.status, 'succeeded', onB.statusReason);
  t.same([...onB.targetNodes].sort(), ['web1', 'web2'], 'on b: only the matching nodes');
  t.same([...onB.successfulNodes].sort(), ['web1', 'web2']);
  t.same(servedBy(await output(b, onB.id)), expected, 'on b: same sshd nodes, reached with the key replicated from a');
  t.same(await hostKeys(b), keysA, 'b accepted the replicated host keys without recording them again');
});
