// Every file of deploy/ is accepted by the tool that will read it: haproxy -c,
// nginx -t, systemd-analyze verify, Tandem's own configuration loader, and
// YAML for the Kubernetes manifests (whose probes must hit endpoints the job
// server really serves).
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadConfig, schemaFields, envName } from '../../server/config/load.js';
import { checkHaproxyConfig, renderHaproxyConfig, SHIPPED_HAPROXY_CFG } from '../harness/haproxy.js';
import { startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';
import { nginxTest, prepareNginx, root } from './nginx-render.js';
import { startTandemServer } from './tandem-process.js';

const deploy = path.join(root, 'deploy');
const read = (p: string) => readFileSync(path.join(deploy, p), 'utf8');
/** The example members named in the shipped load balancer files. */
const exampleMembers = ['a1', 'a2', 'b1', 'b2'].map((m) => `tandem-${m}.example.org:4440`);

t.test('haproxy -c accepts the shipped haproxy.cfg', async (t) => {
  const dir = await tempDir(t, 'haproxy-c');
  // The shipped file names a certificate; give it a real one to read.
  const key = path.join(dir, 'key.pem');
  const crt = path.join(dir, 'crt.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-days', '1', '-subj', '/CN=tandem.example.org'], { stdio: 'ignore' });
  const pem = path.join(dir, 'tandem.pem');
  await writeFile(pem, readFileSync(crt, 'utf8') + readFileSync(key, 'utf8'));
  const shipped = readFileSync(SHIPPED_HAPROXY_CFG, 'utf8');
  t.match(shipped, /crt \/etc\/haproxy\/certs\/tandem\.pem/, 'the certificate path the test replaces is there');
  const file = path.join(dir, 'haproxy.cfg');
  await writeFile(file, shipped.replace('/etc/haproxy/certs/tandem.pem', pem));
  const r = checkHaproxyConfig(file);
  t.equal(r.status, 0, `haproxy -c exit status 0\n${r.output}`);
  t.match(r.output, /Configuration file is valid/);
  // The example host names do not resolve here; HAProxy starts anyway
  // (init-addr none) and says so. Any other warning is a problem.
  const warnings = r.output.split('\n').filter((l) => /\[WARNING\]/.test(l) && !/could not resolve address 'tandem-[ab]\d\.example\.org'/.test(l));
  t.same(warnings, [], 'no warnings besides the unresolvable example hosts');
});

t.test('haproxy.cfg: one frontend, every member checked on /health/active, no stickiness', async (t) => {
  const cfg = readFileSync(SHIPPED_HAPROXY_CFG, 'utf8');
  t.equal(cfg.match(/^frontend /gm)?.length, 1, 'one frontend');
  t.match(cfg, /^\s+option httpchk GET \/health\/active$/m);
  t.match(cfg, /^\s+http-check expect status 200$/m);
  for (const m of exampleMembers) t.match(cfg, new RegExp(`^\\s+server \\S+ ${m.replace(/\./g, '\\.')}\\s*$`, 'm'), `${m} is a server`);
  t.notMatch(cfg, /^\s*(cookie|stick|stick-table)\s/m, 'no sticky sessions');
  t.match(cfg, /No sticky sessions: a login session lives in the replicated database/, 'says why there are no sticky sessions');
  const rendered = renderHaproxyConfig(cfg, { bindPort: 18443, servers: [{ name: 'x1', port: 1 }] });
  t.notMatch(rendered, /tandem-a1\.example\.org/, 'rendering replaces the servers');
  t.match(rendered, /option httpchk GET \/health\/active/, 'rendering keeps the check');
  const dir = await tempDir(t, 'haproxy-render');
  const file = path.join(dir, 'haproxy.cfg');
  await writeFile(file, rendered);
  const r = checkHaproxyConfig(file);
  t.equal(r.status, 0, `the loopback rendering passes haproxy -c\n${r.output}`);
});

t.test('nginx -t accepts the shipped nginx configurations rendered for loopback', async (t) => {
  const members = Object.fromEntries(exampleMembers.map((m, i) => [m, 19001 + i]));
  for (const file of ['tandem.conf', 'tandem-passive-checks.conf']) {
    const n = await prepareNginx(t, file, members);
    const r = nginxTest(n);
    t.equal(r.status, 0, `nginx -t ${file}\n${r.output}`);
    t.match(r.output, /test is successful/);
  }
  t.match(read('nginx/tandem.conf'), /include \/etc\/nginx\/tandem\/upstream-active\.conf;/, 'tandem.conf includes the switched upstream');
  t.match(read('nginx/tandem-passive-checks.conf'), /LIMITS/, 'the passive-check variant states its limits');
});

t.test('the nginx switch script is valid POSIX sh with --help', async (t) => {
  const script = path.join(deploy, 'nginx/tandem-upstream-switch.sh');
  t.equal(spawnSync('sh', ['-n', script]).status, 0, 'sh -n');
  const help = spawnSync(script, ['--help'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  t.equal(help.status, 0);
  t.match(help.stdout, /Example:/);
  const bad = spawnSync(script, ['--bogus'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  t.equal(bad.status, 2, 'unknown argument: exit 2');
  t.match(bad.stderr, /unknown argument --bogus/);
});

const units = ['systemd/tandem-server.service', 'systemd/tandem-replicate.service', 'nginx/tandem-upstream-switch.service'];
const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find(existsSync);

t.test('systemd-analyze verify accepts the units', { skip: analyze ? false : 'systemd-analyze is not installed on this machine (Debian package systemd)' }, async (t) => {
  const dir = await tempDir(t, 'systemd');
  for (const unit of units) {
    // verify checks that ExecStart's program exists: point the shipped
    // install paths at this machine's node and this checkout's script.
    const text = read(unit)
      .replace('/usr/bin/node ', `${process.execPath} `)
      .replaceAll('/usr/local/sbin/tandem-upstream-switch.sh', path.join(deploy, 'nginx/tandem-upstream-switch.sh'));
    const file = path.join(dir, path.basename(unit));
    await writeFile(file, text);
    const r = spawnSync(analyze!, ['verify', file], { encoding: 'utf8' });
    t.equal(r.status, 0, `${unit}: exit 0\n${r.stderr}`);
    t.equal(r.stderr.trim(), '', `${unit}: no complaints`);
  }
});

t.test('systemd units: restart on failure, dedicated user, EnvironmentFile, hardening', async (t) => {
  for (const unit of ['systemd/tandem-server.service', 'systemd/tandem-replicate.service']) {
    const text = read(unit);
    for (const line of [
      'Restart=on-failure',
      'User=tandem',
      'EnvironmentFile=/etc/tandem/tandem.env',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/tandem',
      'PrivateTmp=yes',
      'ProtectHome=yes',
    ])
      t.match(text, new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm'), `${unit}: ${line}`);
  }
});

/** TANDEM_* variables set in a text must name real configuration keys. */
function checkEnvNames(t: Pick<typeof import("tap").t, "same">, where: string, names: string[]) {
  const known = new Set(schemaFields().flatMap((f) => [envName(f.path), envName(f.path) + '_FILE']));
  // Variables the loader reads outside the schema (server/log.ts).
  for (const extra of ['TANDEM_LOG_FORMAT', 'TANDEM_LOG_LEVEL']) known.add(extra);
  const unknown = names.filter((n) => n.startsWith('TANDEM_') && !known.has(n));
  t.same(unknown, [], `${where}: every TANDEM_ variable is a configuration key (${names.length} checked)`);
}

t.test('example environment files set only real configuration keys', async (t) => {
  for (const f of ['systemd/site-a.env.example', 'systemd/site-b.env.example']) {
    const names = read(f)
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => l.split('=')[0]!);
    t.ok(names.includes('TANDEM_DATABASE_URL_FILE'), `${f}: the database URL comes from a file`);
    checkEnvNames(t, f, names);
  }
});

t.test('sample site configurations load with Tandem\'s own loader', async (t) => {
  for (const [file, site] of [['config/site-a.yaml', 'a'], ['config/site-b.yaml', 'b']] as const) {
    const cfg = loadConfig({ file: path.join(deploy, file), env: {} });
    t.equal(cfg.site, site, `${file}: site ${site}`);
    t.same(Object.keys(cfg.sites ?? {}).sort(), ['a', 'b'], `${file}: lists both sites`);
    t.equal(cfg.database.url, undefined, `${file}: no database URL (secret) in the file`);
    t.equal(cfg.auth.ldap.bindPassword, undefined, `${file}: no LDAP password in the file`);
  }
});

interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string };
  data?: Record<string, string>;
  spec?: {
    template?: {
      spec?: {
        containers?: Array<{
          name: string;
          args?: string[];
          ports?: Array<{ name?: string; containerPort: number }>;
          env?: Array<{ name: string }>;
          readinessProbe?: { httpGet?: { path: string; port: string | number } };
          livenessProbe?: { httpGet?: { path: string; port: string | number } };
          startupProbe?: { httpGet?: { path: string; port: string | number } };
        }>;
      };
    };
  };
}

function manifests(): Array<{ file: string; obj: K8sObject }> {
  const out: Array<{ file: string; obj: K8sObject }> = [];
  for (const site of ['site-a', 'site-b']) {
    for (const f of readdirSync(path.join(deploy, 'kubernetes', site)).filter((f) => f.endsWith('.yaml'))) {
      const file = `kubernetes/${site}/${f}`;
      for (const doc of parseAllDocuments(read(file))) {
        if ('errors' in doc && doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}`);
        const obj = doc.toJS() as K8sObject | null;
        if (obj) out.push({ file, obj });
      }
    }
  }
  return out;
}

t.test('Kubernetes manifests parse, and every object has apiVersion, kind and metadata.name', async (t) => {
  const all = manifests();
  t.ok(all.length >= 14, `${all.length} objects`);
  for (const { file, obj } of all) {
    t.ok(obj.apiVersion && obj.kind && obj.metadata?.name, `${file}: ${obj.kind ?? '?'} ${obj.metadata?.name ?? '?'} has apiVersion, kind, metadata.name`);
  }
  for (const site of ['site-a', 'site-b']) {
    const kinds = all.filter((m) => m.file.includes(site)).map((m) => `${m.obj.kind}/${m.obj.metadata?.name}`);
    for (const k of ['Deployment/tandem-server', 'Deployment/tandem-replicator', 'Service/tandem', 'ConfigMap/tandem-config', 'PodDisruptionBudget/tandem-server'])
      t.ok(kinds.includes(k), `${site} has ${k}`);
  }
  // The replicator runs at the passive site (B) only.
  const replicas = (site: string) =>
    (all.find((m) => m.file.includes(site) && m.obj.metadata?.name === 'tandem-replicator')!.obj.spec as { replicas: number }).replicas;
  t.equal(replicas('site-a'), 0, 'no replicator at the active site A');
  t.equal(replicas('site-b'), 1, 'one replicator at the passive site B');
});

t.test('Kubernetes configuration: tandem.yaml loads, env variables are real keys, secrets are referenced', async (t) => {
  const all = manifests();
  const dir = await tempDir(t, 'k8s');
  for (const { file, obj } of all) {
    if (obj.kind === 'ConfigMap' && obj.data?.['tandem.yaml']) {
      const f = path.join(dir, 'tandem.yaml');
      await writeFile(f, obj.data['tandem.yaml']);
      const cfg = loadConfig({ file: f, env: {} });
      t.ok(cfg.site, `${file}: tandem.yaml loads (site ${cfg.site})`);
    }
    for (const c of obj.spec?.template?.spec?.containers ?? []) {
      const names = (c.env ?? []).map((e) => e.name);
      checkEnvNames(t, `${file} ${c.name}`, names);
      t.ok(names.includes('TANDEM_DATABASE_URL_FILE') || names.includes('TANDEM_REPLICATION_TARGET_FILE'), `${file} ${c.name}: database URL from the Secret`);
      t.match(JSON.stringify(obj), /"secretName":"tandem-secrets"/, `${file}: mounts the Secret`);
    }
  }
});

t.test('Kubernetes probes point at endpoints the job server really serves', async (t) => {
  const probes: Array<{ where: string; path: string }> = [];
  for (const { file, obj } of manifests()) {
    for (const c of obj.spec?.template?.spec?.containers ?? []) {
      if (!c.args?.includes('server')) continue;
      const portNames = new Set((c.ports ?? []).map((p) => p.name));
      t.equal(c.readinessProbe?.httpGet?.path, '/health/ready', `${file}: readiness on /health/ready`);
      t.equal(c.livenessProbe?.httpGet?.path, '/health/live', `${file}: liveness on /health/live`);
      for (const [kind, p] of [['readiness', c.readinessProbe], ['liveness', c.livenessProbe], ['startup', c.startupProbe]] as const) {
        if (!p?.httpGet) continue;
        t.ok(portNames.has(String(p.httpGet.port)), `${file}: ${kind} probe port "${p.httpGet.port}" is a container port`);
        probes.push({ where: `${file} ${kind}`, path: p.httpGet.path });
      }
    }
  }
  t.ok(probes.length >= 4, 'probes found');
  // Ask a real job server (`tandem server`, real PostgreSQL) for each probed path.
  const pgServer = await startPostgres(t, { name: 'deploy' });
  const server = await startTandemServer(t, ['--database-url', await pgServer.createDatabase('probes')]);
  for (const p of [...new Set(probes.map((x) => x.path))]) {
    const res = await fetch(server.url + p);
    await res.body?.cancel();
    t.equal(res.status, 200, `GET ${p} answers 200 on a healthy job server`);
  }
});
