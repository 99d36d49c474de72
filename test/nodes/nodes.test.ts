/**
 * Nodes end to end on a real job server and PostgreSQL: the resource model
 * from three sources (file YAML, url JSON served with an ETag by a local HTTP
 * server, script XML), a failing script source, the node API and its ACL, and
 * Rundeck-YAML jobs dispatched over nodes that use `node-executor: local`
 * (the SSH executor has its own tests with sshd).
 */
import t from 'tap';
import { createServer, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';
import { createToken } from '../../server/auth/tokens.js';
import { readOutput, startTestServer, waitFor, waitForEnd, yamlHeaders } from '../server/helpers.js';

const local = { 'node-executor': 'local' };

t.test('nodes', async (t) => {
  const pg = await startPostgres(t, { name: 'nodes' });
  const ts = await startTestServer(t, pg, { overrides: { 'nodes.refreshInterval': 300 } });
  t.equal((await ts.api('POST', '/api/v1/projects', { name: 'ops' })).status, 201);
  const dir = await tempDir(t, 'nodes');

  // Source 1: a Rundeck YAML file (mapping keyed by name).
  const yamlFile = path.join(dir, 'nodes.yaml');
  const writeYaml = (extra = '') =>
    writeFileSync(
      yamlFile,
      `web1:\n  hostname: web1.example.com\n  tags: web, prod\n  rank: 10\n  node-executor: local\n` +
        `web2:\n  hostname: web2.example.com\n  tags: [web, staging]\n  rank: 2\n  node-executor: local\n` +
        `db1:\n  hostname: db1.example.com\n  tags: db\n  rank: 5\n  node-executor: local\n${extra}`,
    );
  writeYaml();

  // Source 2: JSON over HTTP with an ETag; counts conditional requests and 304s.
  const http = { requests: 0, notModified: 0, ifNoneMatch: [] as string[], body: '', etag: '"v1"' };
  const setJson = (nodes: unknown[], etag: string) => {
    http.body = JSON.stringify(nodes);
    http.etag = etag;
  };
  setJson([{ nodename: 'web2', hostname: 'web2.internal', tags: 'web,staging', rank: '2', env: 'from-url', ...local }, { nodename: 'app1', hostname: 'app1', tags: 'app', ...local }], '"v1"');
  const srv = createServer((req: IncomingMessage, res) => {
    http.requests++;
    const inm = req.headers['if-none-match'];
    if (typeof inm === 'string') http.ifNoneMatch.push(inm);
    if (inm === http.etag) {
      http.notModified++;
      res.writeHead(304, { etag: http.etag }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', etag: http.etag }).end(http.body);
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  t.teardown(() => new Promise<void>((r) => srv.close(() => r())));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/nodes`;

  // Source 3: a script printing Rundeck XML; fails (exit 3) or prints nothing when told to by a file.
  const script = path.join(dir, 'nodes.sh');
  const mode = path.join(dir, 'mode');
  writeFileSync(mode, 'ok');
  writeFileSync(
    script,
    `#!/bin/sh\nmode=$(cat ${JSON.stringify(mode)})\n` +
      `if [ "$mode" = fail ]; then echo "inventory down" >&2; exit 3; fi\n` +
      `if [ "$mode" = empty ]; then exit 0; fi\n` +
      `cat <<XML\n<?xml version="1.0"?>\n<project>\n  <node name="db1" hostname="db1.internal" tags="db,prod" osFamily="unix" node-executor="local">\n` +
      `    <attribute name="project" value="$RD_CONTEXT_PROJECT"/>\n  </node>\n  <node name="win1" hostname="win1" tags="windows" osFamily="windows" node-executor="local"/>\n</project>\nXML\n`,
    { mode: 0o755 },
  );

  const sources = [
    { type: 'file', file: yamlFile },
    { type: 'url', url, timeout: 5 },
    { type: 'script', file: script, interpreter: 'sh', format: 'resourcexml', timeout: 10 },
  ];

  await t.test('three sources merge in order; later sources win; the server is a node', async (t) => {
    const put = await ts.api('PUT', '/api/v1/projects/ops/sources', { sources });
    t.equal(put.status, 200, put.text);
    t.equal(put.body.version, 1);
    t.same(put.body.state.map((s: any) => [s.type, s.status, s.nodeCount]), [['file', 'ok', 3], ['url', 'ok', 2], ['script', 'ok', 2]]);
    const r = await ts.api('GET', '/api/v1/projects/ops/nodes');
    t.equal(r.status, 200);
    const byName = Object.fromEntries(r.body.nodes.map((n: any) => [n.name, n]));
    t.same(Object.keys(byName).sort(), ['app1', 'db1', ts.server.nodes.local.name, 'web1', 'web2', 'win1'].sort(), 'union of every source and the local node');
    t.equal(byName.web2.attributes.hostname, 'web2.internal', 'the url source (2nd) replaces the file\'s web2');
    t.equal(byName.web2.attributes.env, 'from-url');
    t.equal(byName.db1.attributes.hostname, 'db1.internal', 'the script source (3rd) replaces the file\'s db1');
    t.same(byName.db1.tags, ['db', 'prod']);
    t.equal(byName.db1.attributes.project, 'ops', 'the script saw RD_CONTEXT_PROJECT');
    t.equal(byName.web1.attributes.rank, '10', 'attributes are strings');
    t.same(byName.web1.tags, ['web', 'prod']);
    t.equal(byName[ts.server.nodes.local.name].attributes['node-executor'], 'local');
    const f = await ts.api('GET', `/api/v1/projects/ops/nodes?filter=${encodeURIComponent('tags: web+prod,db !hostname: db1.*')}`);
    t.same(f.body.nodes.map((n: any) => n.name), ['web1'], 'the filter language on the API');
    const g = await ts.api('GET', '/api/v1/projects/ops/sources');
    t.same(g.body.sources.map((s: any) => s.type), ['file', 'url', 'script']);
  });

  await t.test('url source: the ETag is sent back and a 304 keeps the nodes', async (t) => {
    const before = http.notModified;
    const r = await ts.api('POST', '/api/v1/projects/ops/nodes/refresh');
    t.equal(r.status, 200);
    t.ok(http.notModified > before, 'the server answered 304');
    t.ok(http.ifNoneMatch.includes('"v1"'), 'If-None-Match carried the last ETag');
    const n = await ts.api('GET', '/api/v1/projects/ops/nodes?filter=app1');
    t.equal(n.body.total, 1, 'nodes of the 304 source still there');
    setJson([{ nodename: 'app2', tags: 'app', ...local }], '"v2"');
    await ts.api('POST', '/api/v1/projects/ops/nodes/refresh');
    const m = await ts.api('GET', '/api/v1/projects/ops/nodes?filter=tags:app');
    t.same(m.body.nodes.map((x: any) => x.name), ['app2'], 'a changed document (new ETag) is read');
  });

  await t.test('the background refresh picks up a changed file', async (t) => {
    writeYaml('cache1:\n  tags: cache\n  node-executor: local\n');
    await waitFor('the new node to appear without an explicit refresh', async () => (await ts.api('GET', '/api/v1/projects/ops/nodes?filter=cache1')).body.total === 1);
    writeYaml();
    await waitFor('the node to go away again', async () => (await ts.api('GET', '/api/v1/projects/ops/nodes?filter=cache1')).body.total === 0);
    t.pass('refreshed in the background');
  });

  await t.test('a failing script source keeps its last good nodes and reports its error', async (t) => {
    writeFileSync(mode, 'fail');
    const r = await ts.api('POST', '/api/v1/projects/ops/nodes/refresh');
    const s = r.body.sources[2];
    t.equal(s.status, 'failed');
    t.equal(s.error, 'Script execution failed with result: 3', 'Rundeck\'s message');
    t.equal(s.nodeCount, 2);
    const n = await ts.api('GET', '/api/v1/projects/ops/nodes?filter=win1');
    t.equal(n.body.total, 1, 'win1 (only from the script) is still in the model');
    const metrics = await (await fetch(`${ts.url}/metrics`)).text();
    t.match(metrics, /tandem_node_source_up\{[^}]*project="ops"[^}]*source="3"[^}]*\} 0/);
    t.match(metrics, /tandem_node_source_failures_total\{[^}]*project="ops"[^}]*type="script"[^}]*\} [1-9]/);
    writeFileSync(mode, 'empty');
    const e = await ts.api('POST', '/api/v1/projects/ops/nodes/refresh');
    t.equal(e.body.sources[2].error, 'Script output was empty');
    writeFileSync(mode, 'ok');
    const ok = await ts.api('POST', '/api/v1/projects/ops/nodes/refresh');
    t.equal(ok.body.sources[2].status, 'ok');
  });

  await t.test('bad input: sources and filters', async (t) => {
    const bad = await ts.api('PUT', '/api/v1/projects/ops/sources', { sources: [{ type: 'url', url: 'ftp://x/y' }] });
    t.equal(bad.status, 400);
    t.equal(bad.body.error.field, 'sources[0].url');
    const noFmt = await ts.api('PUT', '/api/v1/projects/ops/sources', { sources: [{ type: 'script', file: script }] });
    t.equal(noFmt.body.error.field, 'sources[0].format');
    const f = await ts.api('GET', `/api/v1/projects/ops/nodes?filter=${encodeURIComponent('tags: web name: /x[/')}`);
    t.equal(f.status, 400);
    t.match(f.body.error.message, /column 11/);
    const g = await ts.api('GET', '/api/v1/projects/ops/sources');
    t.equal(g.body.version, 1, 'refused lists changed nothing');
  });

  await t.test('ACL: users read nodes, only configure may change sources', async (t) => {
    const { token } = await createToken(ts.pool, { user: 'ulla', roles: ['user'] });
    const as = (method: string, p: string, body?: unknown) =>
      fetch(ts.url + p, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    t.equal((await as('GET', '/api/v1/projects/ops/nodes')).status, 200);
    t.equal((await as('PUT', '/api/v1/projects/ops/sources', { sources: [] })).status, 403);
    t.equal((await as('GET', '/api/v1/projects/ops/sources')).status, 403);
  });

  const importYaml = async (yaml: string): Promise<string> => {
    const r = await ts.api('POST', '/api/v1/projects/ops/jobs', yaml, yamlHeaders());
    if (r.status !== 201) throw new Error(`import failed: ${r.text}`);
    return r.body.jobs[0].id;
  };
  const run = async (id: string, body: unknown = {}) => {
    const r = await ts.api('POST', `/api/v1/jobs/${id}/run`, body);
    if (r.status !== 201) throw new Error(`run failed: ${r.status} ${r.text}`);
    return waitForEnd(ts, r.body.id);
  };

  await t.test('a Rundeck-YAML job with nodefilters runs on the matching nodes only, with Rundeck context', async (t) => {
    const id = await importYaml(`
- name: deploy
  nodefilters:
    filter: 'tags: web'
    dispatch:
      threadcount: 1
      keepgoing: false
  options:
    - name: ver
      value: "1.2; echo INJECTED"
  sequence:
    keepgoing: false
    strategy: node-first
    commands:
      - exec: echo "on \${node.name} host=\${node.hostname} tags=\${node.tags} env=$RD_NODE_NAME exec=\${job.execid} ver=\${option.ver} rdver=$RD_OPTION_VER"
      - script: |
          echo "script @node.name@ $RD_JOB_NAME $RD_JOB_PROJECT"
`);
    const e = await run(id);
    t.equal(e.status, 'succeeded', e.statusReason);
    t.same(e.targetNodes, ['web1', 'web2']);
    t.same(e.successfulNodes, ['web1', 'web2']);
    t.same(e.failedNodes, []);
    t.same(e.steps.map((s: any) => `${s.step}@${s.node}`).sort(), ['1@web1', '1@web2', '2@web1', '2@web2']);
    const out = await readOutput(ts, e.id);
    const lines = out.filter((x: any) => x.stream === 'stdout').map((x: any) => `${x.node}: ${x.text}`);
    t.same(lines, [
      `web1: on web1 host=web1.example.com tags=web,prod env=web1 exec=${e.id} ver=1.2; echo INJECTED rdver=1.2; echo INJECTED`,
      'web1: script web1 deploy ops',
      `web2: on web2 host=web2.example.com tags=web,staging env=web2 exec=${e.id} ver=1.2; echo INJECTED rdver=1.2; echo INJECTED`,
      'web2: script web2 deploy ops',
    ], 'node-first order, per-node log lines, values stay data (web2 is the file\'s again: the url source dropped it)');
  });

  await t.test('threadcount runs nodes in parallel', async (t) => {
    const marks = await tempDir(t, 'marks');
    // Each node waits until all three have started: only possible when they run at once.
    const id = await importYaml(`
- name: parallel
  nodefilters:
    filter: 'web1,web2,db1'
    dispatch:
      threadcount: 3
  sequence:
    commands:
      - exec: touch ${marks}/$RD_NODE_NAME; i=0; while [ $(ls ${marks} | wc -l) -lt 3 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; [ $(ls ${marks} | wc -l) -eq 3 ]
`);
    const e = await run(id);
    t.equal(e.status, 'succeeded', e.statusReason);
    t.same([...e.successfulNodes].sort(), ['db1', 'web1', 'web2']);
  });

  await t.test('sequence strategies: sequential is step-first, parallel runs the steps at once', async (t) => {
    const steps = (strategy: string, cmds: string[]) => `
- name: strategy-${strategy}
  nodefilters:
    filter: 'web1,web2'
  sequence:
    strategy: ${strategy}
    commands:
${cmds.map((c) => `      - exec: ${c}`).join('\n')}
`;
    const seq = await run(await importYaml(steps('sequential', ['echo one $RD_NODE_NAME', 'echo two $RD_NODE_NAME'])));
    t.equal(seq.status, 'succeeded');
    const order = (await readOutput(ts, seq.id)).filter((x: any) => x.stream === 'stdout').map((x: any) => x.text);
    t.same(order, ['one web1', 'one web2', 'two web1', 'two web2']);
    const nf = await run(await importYaml(steps('node-first', ['echo one $RD_NODE_NAME', 'echo two $RD_NODE_NAME'])));
    t.same((await readOutput(ts, nf.id)).filter((x: any) => x.stream === 'stdout').map((x: any) => x.text), ['one web1', 'two web1', 'one web2', 'two web2']);
    // Step 1 waits for step 2's mark on the same node: only possible when the steps run at once.
    const marks = await tempDir(t, 'par');
    const par = await run(
      await importYaml(
        steps('parallel', [
          `i=0; while [ ! -e ${marks}/$RD_NODE_NAME.2 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; test -e ${marks}/$RD_NODE_NAME.2`,
          `touch ${marks}/$RD_NODE_NAME.2`,
        ]),
      ),
    );
    t.equal(par.status, 'succeeded', par.statusReason);
    t.same(par.successfulNodes, ['web1', 'web2']);
  });

  await t.test('a script source that hangs is stopped at its timeout', async (t) => {
    t.equal((await ts.api('POST', '/api/v1/projects', { name: 'slow' })).status, 201);
    const hang = path.join(dir, 'hang.sh');
    writeFileSync(hang, '#!/bin/sh\nsleep 60\n', { mode: 0o755 });
    const put = await ts.api('PUT', '/api/v1/projects/slow/sources', { sources: [{ type: 'script', file: hang, format: 'resourceyaml', timeout: 1 }] });
    t.equal(put.status, 200);
    t.same([put.body.state[0].status, put.body.state[0].error], ['failed', 'Script execution timed out after 1 s']);
    const n = await ts.api('GET', '/api/v1/projects/slow/nodes');
    t.same(n.body.nodes.map((x: any) => x.name), ['localhost'], 'only the server\'s own node');
  });

  await t.test('abort stops the steps running on every node at once', async (t) => {
    const id = await importYaml(`
- name: long
  nodefilters:
    filter: 'web1,web2,db1'
    dispatch:
      threadcount: 3
  sequence:
    commands:
      - exec: echo "pid $$"; exec sleep 300
`);
    const r = await ts.api('POST', `/api/v1/jobs/${id}/run`, {});
    t.equal(r.status, 201);
    const pids = await waitFor('all three nodes to run', async () => {
      const out = await ts.api('GET', `/api/v1/executions/${r.body.id}/output`);
      const found = out.body.entries.filter((e: any) => /^pid \d+$/.test(e.text)).map((e: any) => Number(e.text.slice(4)));
      return found.length === 3 ? (found as number[]) : undefined;
    });
    t.equal((await ts.api('POST', `/api/v1/executions/${r.body.id}/abort`)).status, 202);
    const e = await waitForEnd(ts, r.body.id);
    t.equal(e.status, 'aborted');
    t.same([...e.failedNodes].sort(), ['db1', 'web1', 'web2'], 'every node was stopped');
    const gone = (pid: number) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
      } catch {
        return true;
      }
    };
    await waitFor('every node\'s process to be gone', async () => pids.every(gone));
    t.pass('no sleep left on any node');
  });

  await t.test('rank order and keepgoing', async (t) => {
    const order = path.join(dir, 'order');
    const id = await importYaml(`
- name: ranked
  nodefilters:
    filter: 'web1,web2,db1'
    dispatch:
      threadcount: 1
      rankAttribute: rank
      rankOrder: descending
  sequence:
    commands:
      - exec: echo $RD_NODE_NAME >> ${order}
`);
    const e = await run(id);
    t.equal(e.status, 'succeeded');
    // db1 now comes from the script source, which gives it no rank: nodes without the attribute go last.
    t.same(readFileSync(order, 'utf8').trim().split('\n'), ['web1', 'web2', 'db1'], 'rank 10 then 2 (numeric, descending), then db1');
    t.same(e.targetNodes, ['web1', 'web2', 'db1']);

    const failOn = (keepgoing: boolean) => `
- name: fails-${keepgoing}
  nodefilters:
    filter: 'web1,web2,db1'
    dispatch:
      threadcount: 1
      keepgoing: ${keepgoing}
  sequence:
    commands:
      - exec: test "\${node.name}" != db1
`;
    const kg = await run(await importYaml(failOn(true)));
    t.equal(kg.status, 'failed');
    t.same(kg.failedNodes, ['db1']);
    t.same(kg.successfulNodes, ['web1', 'web2'], 'keepgoing: the other nodes ran');
    t.match(kg.statusReason, /failed nodes: db1/);
    const stop = await run(await importYaml(failOn(false)));
    t.equal(stop.status, 'failed');
    t.same(stop.failedNodes, ['db1']);
    t.same(stop.targetNodes, ['db1', 'web1', 'web2'], 'ranked by name');
    t.same(stop.successfulNodes, [], 'without keepgoing no node starts after db1 (ranked first by name)');
    t.same(stop.steps.map((s: any) => s.node), ['db1']);
  });

  await t.test('errorhandler per node with result context; keepgoingOnSuccess', async (t) => {
    const job = (k: boolean) => `
- name: handled-${k}
  nodefilters:
    filter: 'web1,web2'
  sequence:
    commands:
      - exec: if [ "$RD_NODE_NAME" = web2 ]; then exit 3; fi
        errorhandler:
          exec: echo "handled on \${node.name} code=\${result.resultCode} reason=\${result.reason} msg=\${result.message}"
          keepgoingOnSuccess: ${k}
      - exec: echo after on $RD_NODE_NAME
`;
    const imp = await ts.api('POST', '/api/v1/projects/ops/jobs', job(true), yamlHeaders());
    t.same(imp.body.warnings, [], 'errorhandler imports without the "unknown field" warning');
    const ok = await run(imp.body.jobs[0].id);
    t.equal(ok.status, 'succeeded', ok.statusReason);
    const out = (await readOutput(ts, ok.id)).filter((x: any) => x.stream === 'stdout').map((x: any) => `${x.node}: ${x.text}`);
    t.same(out, ['web1: after on web1', 'web2: handled on web2 code=3 reason=NonZeroResultCode msg=Result code was 3', 'web2: after on web2']);
    const failed = await run(await importYaml(job(false)));
    t.equal(failed.status, 'failed', 'without keepgoingOnSuccess the failure stands');
    t.same(failed.failedNodes, ['web2']);
    const bad = await ts.api('POST', '/api/v1/projects/ops/jobs', `- name: bad\n  sequence:\n    commands:\n      - exec: 'true'\n        errorhandler: {nothing: 1}\n`, yamlHeaders());
    t.equal(bad.status, 400);
    t.match(bad.body.error.message, /commands\[0\]\.errorhandler/);
  });

  await t.test('No matched nodes; successOnEmptyNodeFilter; run-time filter when editable', async (t) => {
    const none = await run(await importYaml(`- name: none\n  nodefilters:\n    filter: 'tags: nothing'\n  sequence:\n    commands:\n      - exec: 'true'\n`));
    t.equal(none.status, 'failed');
    t.equal(none.statusReason, 'No matched nodes');
    const empty = await run(await importYaml(`- name: empty-ok\n  nodefilters:\n    filter: 'tags: nothing'\n    dispatch:\n      successOnEmptyNodeFilter: true\n  sequence:\n    commands:\n      - exec: 'false'\n`));
    t.equal(empty.status, 'succeeded');
    const editable = await importYaml(`- name: editable\n  nodeFilterEditable: true\n  nodefilters:\n    filter: 'tags: web'\n  sequence:\n    commands:\n      - exec: 'true'\n`);
    const e = await run(editable, { filter: 'name: db1' });
    t.same(e.targetNodes, ['db1']);
    const locked = await importYaml(`- name: locked\n  nodefilters:\n    filter: 'tags: web'\n  sequence:\n    commands:\n      - exec: 'true'\n`);
    const r = await ts.api('POST', `/api/v1/jobs/${locked}/run`, { filter: 'name: db1' });
    t.equal(r.status, 403);
    const badFilter = await ts.api('POST', `/api/v1/jobs/${editable}/run`, { filter: 'name: "x' });
    t.equal(badFilter.status, 400);
    t.match(badFilter.body.error.message, /unterminated double quote at column 7/);
  });

  await t.test('a remote node the ssh executor cannot reach fails with the reason; a job without nodefilters runs here', async (t) => {
    writeYaml('remote1:\n  hostname: remote1.example.com\n');
    await ts.api('POST', '/api/v1/projects/ops/nodes/refresh');
    const e = await run(await importYaml(`- name: remote\n  nodefilters:\n    filter: remote1\n  sequence:\n    commands:\n      - exec: 'true'\n`));
    t.equal(e.status, 'failed');
    // The ssh executor is registered (server/nodes/ssh/): a remote node without credentials fails that node, saying so.
    t.match(e.steps[0].message, /node remote1: no SSH credentials: set ssh-key-storage-path or ssh-password-storage-path/);
    const here = await run(await importYaml(`- name: here\n  sequence:\n    commands:\n      - exec: echo "$RD_NODE_NAME \${node.name}"\n`));
    t.equal(here.status, 'succeeded');
    const out = (await readOutput(ts, here.id)).filter((x: any) => x.stream === 'stdout');
    const me = ts.server.nodes.local.name;
    t.same(out.map((x: any) => `${x.node}: ${x.text}`), [`${me}: ${me} ${me}`]);
    t.same(here.targetNodes, [], 'no dispatch recorded for a server-only job');
    t.notOk(existsSync(path.join(dir, 'unused')));
  });
});
