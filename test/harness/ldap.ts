/**
 * startLdap(t, { entries }): a private OpenLDAP `slapd` (mdb backend) on a
 * free loopback port, loaded with a fixture directory, stopped and deleted
 * at teardown. The default fixture (below) has users with LDAP-special and
 * non-ASCII characters, groups as groupOfNames and posixGroup, and a nested
 * group.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from '../../server/embedded/net.js';
import { serverDir, type Teardown } from './tmp.js';
import { reapProcess } from './reaper.js';
import { waitForPort } from './wait.js';

export const BASE_DN = 'dc=example,dc=org';
export const ADMIN_DN = `cn=admin,${BASE_DN}`;
export const ADMIN_PASSWORD = 'admin-fixture-pw';
/** The service account the job server binds with. */
export const SERVICE_DN = `cn=tandem-svc,ou=services,${BASE_DN}`;
export const SERVICE_PASSWORD = 'svc-fixture-pw';

export interface FixtureUser {
  uid: string;
  /** RDN value as it appears in the DN (escaped per RFC 4514). */
  dn: string;
  cn: string;
  password: string;
}

function userDn(rdnValue: string) {
  return `uid=${rdnValue},ou=people,${BASE_DN}`;
}

/** Users of the default fixture, by short name. */
export const users = {
  alice: { uid: 'alice', dn: userDn('alice'), cn: 'Alice Admin', password: 'alice-fixture-pw' },
  bob: { uid: 'bob', dn: userDn('bob'), cn: 'Bob Builder', password: 'bob-fixture-pw' },
  carol: { uid: 'carol', dn: userDn('carol'), cn: 'Carol Posix', password: 'carol-fixture-pw' },
  /** A uid full of filter metacharacters: * ( ) \ */
  star: { uid: 'st*r(x)\\y', dn: userDn('st*r(x)\\\\y'), cn: 'Star Paren', password: 'star-fixture-pw' },
  /** A uid with a comma (escaped in the DN) */
  comma: { uid: 'smith,j', dn: userDn('smith\\,j'), cn: 'Smith, J', password: 'comma-fixture-pw' },
  /** Non-ASCII */
  muller: { uid: 'müller', dn: userDn('müller'), cn: 'Jürgen Müller', password: 'müller-fixture-pw-ü' },
} satisfies Record<string, FixtureUser>;

export const groups = {
  /** groupOfNames: alice, and the nested group `team` (whose member is bob). */
  ops: `cn=ops,ou=groups,${BASE_DN}`,
  /** groupOfNames nested inside ops. */
  team: `cn=team,ou=groups,${BASE_DN}`,
  /** posixGroup with memberUid carol and alice. */
  devs: `cn=devs,ou=groups,${BASE_DN}`,
  /** groupOfNames holding the special-character users. */
  special: `cn=special,ou=groups,${BASE_DN}`,
};

type Entry = { dn: string; attrs: Record<string, string | string[]> };

export function defaultEntries(): Entry[] {
  const u = users;
  const person = (x: FixtureUser): Entry => ({
    dn: x.dn,
    attrs: {
      objectClass: ['inetOrgPerson'],
      uid: x.uid,
      cn: x.cn,
      sn: x.cn.split(' ').pop()!,
      mail: `${x.uid.replace(/[^a-z]/gi, '') || 'user'}@example.org`,
      userPassword: x.password,
    },
  });
  return [
    { dn: BASE_DN, attrs: { objectClass: ['dcObject', 'organization'], dc: 'example', o: 'Example' } },
    { dn: `ou=people,${BASE_DN}`, attrs: { objectClass: 'organizationalUnit', ou: 'people' } },
    { dn: `ou=groups,${BASE_DN}`, attrs: { objectClass: 'organizationalUnit', ou: 'groups' } },
    { dn: `ou=services,${BASE_DN}`, attrs: { objectClass: 'organizationalUnit', ou: 'services' } },
    {
      dn: SERVICE_DN,
      attrs: { objectClass: ['organizationalRole', 'simpleSecurityObject'], cn: 'tandem-svc', userPassword: SERVICE_PASSWORD },
    },
    ...Object.values(u).map(person),
    { dn: groups.team, attrs: { objectClass: 'groupOfNames', cn: 'team', member: [u.bob.dn] } },
    { dn: groups.ops, attrs: { objectClass: 'groupOfNames', cn: 'ops', member: [u.alice.dn, groups.team] } },
    { dn: groups.devs, attrs: { objectClass: 'posixGroup', cn: 'devs', gidNumber: '5000', memberUid: ['carol', 'alice'] } },
    { dn: groups.special, attrs: { objectClass: 'groupOfNames', cn: 'special', member: [u.star.dn, u.comma.dn, u.muller.dn] } },
  ];
}

/** LDIF text; values that are not plain ASCII (or start with special characters) are base64-encoded. */
export function toLdif(entries: Entry[]): string {
  const line = (k: string, v: string) =>
    /^[\x20-\x7e]*$/.test(v) && !/^[ :<]/.test(v) && !/ $/.test(v) ? `${k}: ${v}` : `${k}:: ${Buffer.from(v, 'utf8').toString('base64')}`;
  return entries
    .map((e) => [line('dn', e.dn), ...Object.entries(e.attrs).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => line(k, x)))].join('\n'))
    .join('\n\n') + '\n';
}

export interface TestLdap {
  url: string;
  port: number;
  /** ldaps:// URL when started with tls. */
  ldapsUrl?: string;
  baseDn: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface StartLdapOptions {
  entries?: Entry[];
  /** Extra LDIF text appended to the fixture. */
  ldif?: string;
  /** Serve ldaps:// too with this certificate and key (PEM file paths), and StartTLS on ldap://. */
  tls?: { certFile: string; keyFile: string; caFile?: string };
}

const SLAPD = existsSync('/usr/sbin/slapd') ? '/usr/sbin/slapd' : 'slapd';
const SLAPADD = existsSync('/usr/sbin/slapadd') ? '/usr/sbin/slapadd' : 'slapadd';

export async function startLdap(t: Teardown, opts: StartLdapOptions = {}): Promise<TestLdap> {
  const { dir, setStop } = await serverDir(t, 'ldap');
  const dbDir = path.join(dir, 'db');
  await mkdir(dbDir);
  const port = await freePort();
  const tlsPort = opts.tls ? await freePort() : undefined;
  const conf = [
    'include /etc/ldap/schema/core.schema',
    'include /etc/ldap/schema/cosine.schema',
    'include /etc/ldap/schema/inetorgperson.schema',
    'include /etc/ldap/schema/nis.schema',
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    `pidfile ${dir}/slapd.pid`,
    ...(opts.tls
      ? [
          `TLSCertificateFile ${opts.tls.certFile}`,
          `TLSCertificateKeyFile ${opts.tls.keyFile}`,
          ...(opts.tls.caFile ? [`TLSCACertificateFile ${opts.tls.caFile}`] : []),
        ]
      : []),
    'database mdb',
    'maxsize 104857600',
    `suffix "${BASE_DN}"`,
    `rootdn "${ADMIN_DN}"`,
    `rootpw ${ADMIN_PASSWORD}`,
    `directory ${dbDir}`,
    'access to attrs=userPassword by self write by anonymous auth by * none',
    'access to * by * read',
  ].join('\n');
  const confFile = path.join(dir, 'slapd.conf');
  await writeFile(confFile, conf + '\n');
  const ldifFile = path.join(dir, 'fixture.ldif');
  await writeFile(ldifFile, toLdif(opts.entries ?? defaultEntries()) + (opts.ldif ? '\n' + opts.ldif : ''));
  try {
    execFileSync(SLAPADD, ['-q', '-f', confFile, '-l', ldifFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`slapadd failed: ${(e as { stderr?: Buffer }).stderr?.toString() ?? String(e)}`);
  }

  let child: ChildProcess | undefined;
  const urls = [`ldap://127.0.0.1:${port}/`, ...(tlsPort ? [`ldaps://127.0.0.1:${tlsPort}/`] : [])];
  const start = async () => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    let stderr = '';
    const proc = spawn(SLAPD, ['-d', '0', '-f', confFile, '-h', urls.join(' ')], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    proc.stderr!.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-5000);
    });
    const exited = new Promise<never>((_, reject) =>
      proc.once('exit', (code) => reject(new Error(`slapd exited during start (code ${code}): ${stderr.trim()}`))),
    );
    await Promise.race([waitForPort(port, 10_000), exited]);
    if (tlsPort) await Promise.race([waitForPort(tlsPort, 10_000), exited]);
  };
  const stop = async () => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  };
  const forget = reapProcess(() => (child && child.exitCode === null && child.signalCode === null ? child.pid : undefined));
  setStop(async () => {
    await stop();
    forget();
  });
  await start();
  return { url: urls[0]!, ldapsUrl: urls[1], port, baseDn: BASE_DN, stop, start };
}

