/**
 * Authentication: LDAP login latency and throughput through the real HTTP
 * route (POST /auth/login → service-account search, user bind, group
 * search, session row, profile, audit row) against a private slapd and
 * PostgreSQL, with 50 concurrent users; and the per-request cost of the ACL
 * check (authorize() against a policy set of realistic size).
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import pg from 'pg';
import { loadConfig } from '../../server/config/load.js';
import { migrate } from '../../server/db/migrate.js';
import { silentLogger } from '../../server/log.js';
import { authenticate, authorize, authRoutes, type AuthDeps } from '../../server/auth/middleware.js';
import { loadPolicies } from '../../server/auth/acl/load.js';
import { PolicySet } from '../../server/auth/acl/evaluate.js';
import { parseAclText } from '../../server/auth/acl/parse.js';
import { startPostgres } from '../harness/postgres.js';
import { startLdap, BASE_DN, SERVICE_DN, SERVICE_PASSWORD } from '../harness/ldap.js';
import { percentile, type BenchGroup } from './report.js';

const USERS = 50;
const LOGINS_PER_USER = 40;
const ACL_CHECKS = 200_000;

function benchUsersLdif(): string {
  const entries: string[] = [];
  const members: string[] = [];
  for (let i = 0; i < USERS; i++) {
    const uid = `bench${String(i).padStart(3, '0')}`;
    const dn = `uid=${uid},ou=people,${BASE_DN}`;
    members.push(dn);
    entries.push(`dn: ${dn}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: Bench ${i}\nsn: ${i}\nuserPassword: ${uid}-pw\n`);
  }
  entries.push(`dn: cn=bench,ou=groups,${BASE_DN}\nobjectClass: groupOfNames\ncn: bench\n${members.map((m) => `member: ${m}`).join('\n')}\n`);
  return entries.join('\n');
}

/** 50 project policies of 3 rules each, plus the default: what a mid-sized installation might have. */
function manyPolicies(): PolicySet {
  const docs: string[] = [];
  for (let i = 0; i < 50; i++)
    docs.push(`context:\n  project: 'team${i}-.*'\nfor:\n  job:\n    - allow: [read, run]\n    - match: { group: 'prod/.*' }\n      deny: [run]\n    - equals: { name: 'deploy' }\n      allow: [update]\nby:\n  group: [team${i}, user]\n`);
  const parsed = parseAclText(docs.join('---\n'), 'bench');
  if (parsed.problems.length) throw new Error('bench policy invalid');
  return new PolicySet([...loadPolicies(undefined).policies, ...parsed.policies]);
}

const bench: BenchGroup = async (report) => {
  const teardowns: Array<() => unknown> = [];
  const t = { teardown: (fn: () => unknown) => void teardowns.unshift(fn) };
  try {
    report.progress('starting PostgreSQL and slapd');
    const [pgs, ldap] = await Promise.all([startPostgres(t, { name: 'bench-auth' }), startLdap(t, { ldif: benchUsersLdif() })]);
    const dbUrl = await pgs.createDatabase('auth_bench');
    await migrate(dbUrl);
    const config = loadConfig({
      env: {},
      file: '',
      overrides: {
        'database.url': dbUrl,
        'auth.ldap.urls': [ldap.url],
        'auth.ldap.bindDn': SERVICE_DN,
        'auth.ldap.bindPassword': SERVICE_PASSWORD,
        'auth.ldap.userBase': `ou=people,${BASE_DN}`,
        'auth.ldap.groupBase': `ou=groups,${BASE_DN}`,
        'auth.ldap.roleMap': 'bench=user',
      },
    });
    const pool = new pg.Pool({ connectionString: dbUrl, max: 10 });
    pool.on('error', (e) => process.stderr.write(`bench pool: an idle session was ended by the server: ${e.message}\n`));
    t.teardown(() => pool.end());
    const deps: AuthDeps = { pool, config, log: silentLogger };
    const app = new Koa();
    app.use(authenticate(deps));
    app.use(authRoutes(deps).routes());
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.teardown(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth/login`;

    const loginOnce = async (i: number) => {
      const uid = `bench${String(i).padStart(3, '0')}`;
      const started = performance.now();
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: uid, password: `${uid}-pw` }) });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`login of ${uid} answered ${res.status}`);
      return performance.now() - started;
    };
    report.progress('warm-up: one login per user');
    await Promise.all(Array.from({ length: USERS }, (_, i) => loginOnce(i)));

    report.progress(`${USERS} concurrent users, ${LOGINS_PER_USER} logins each`);
    const latencies: number[] = [];
    const started = performance.now();
    let done = 0;
    await Promise.all(
      Array.from({ length: USERS }, async (_, i) => {
        for (let n = 0; n < LOGINS_PER_USER; n++) {
          latencies.push(await loginOnce(i));
          if (++done % 500 === 0) report.progress(`${done} / ${USERS * LOGINS_PER_USER} logins`);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    report.figure('auth.login_p50_ms', percentile(latencies, 50), `LDAP login via POST /auth/login, median, ${USERS} concurrent users`);
    report.figure('auth.login_p99_ms', percentile(latencies, 99), `LDAP login via POST /auth/login, 99th percentile, ${USERS} concurrent users`);
    report.figure('auth.logins_per_s', latencies.length / seconds, `successful LDAP logins per second, ${USERS} concurrent users`);
    report.note(
      `Login = new LDAP connection, service bind, user search, user bind, service re-bind, group search, then session insert, expired-session cleanup, profile upsert and audit row in PostgreSQL; ${latencies.length} logins by ${USERS} users in parallel, slapd (mdb) and PostgreSQL on the same machine.`,
    );

    report.progress(`${ACL_CHECKS} ACL checks`);
    const policies = manyPolicies();
    const ctx = { state: { principal: { user: 'u', roles: ['team7', 'user'], groups: [], via: 'token' }, auth: { policies, pool, log: silentLogger } }, method: 'GET', path: '/x' };
    const resource = { type: 'job' as const, project: 'team7-web', job: { name: 'deploy', group: 'prod/eu' } };
    for (let i = 0; i < 10_000; i++) authorize(ctx as never, 'read', resource);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < ACL_CHECKS; i++) authorize(ctx as never, i % 2 ? 'read' : 'update', resource);
    const us = Number(process.hrtime.bigint() - t0) / 1000 / ACL_CHECKS;
    report.figure('auth.acl_check_us', us, 'authorize() for an allowed request, policy set of 54 policies / 154 rules');
    report.note(`ACL check: ${ACL_CHECKS} allowed authorize() calls (a subject with 2 roles, the embedded default policy plus 50 project policies of 3 rules each); denials additionally write an audit row.`);
  } finally {
    for (const fn of teardowns) await fn();
  }
};

export default bench;
