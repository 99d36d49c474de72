// The shipped nginx recipe end to end: a real nginx running
// deploy/nginx/tandem.conf (rendered for loopback) and the shipped
// tandem-upstream-switch.sh rewriting its upstream and reloading it when the
// active site changes. The members are stand-ins that follow the job
// server's /health/active contract (./members.ts); what is under test is the
// nginx configuration and the script.
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { standInSites } from './members.js';
import { NGINX, nginxArgs, root, runNginx } from './nginx-render.js';
import { waitFor } from '../harness/wait.js';

const script = path.join(root, 'deploy/nginx/tandem-upstream-switch.sh');

t.test('the switch script moves nginx to the active site', async (t) => {
  const { roles, start } = standInSites(t);
  const [a1, a2, b1, b2] = await Promise.all([start('a1', 'a'), start('a2', 'a'), start('b1', 'b'), start('b2', 'b')]);
  const members = [a1!, a2!, b1!, b2!];
  // The shipped upstream-active.conf lists A's two example members.
  const n = await runNginx(t, 'tandem.conf', {
    'tandem-a1.example.org:4440': a1!.port,
    'tandem-a2.example.org:4440': a2!.port,
  });
  const nginxCmd = `${NGINX} ${nginxArgs(n).join(' ')}`;
  // Asynchronous on purpose: the stand-in members live in this process and
  // must keep answering the script's health checks while it runs.
  const switchOnce = () =>
    new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn(script, ['--once'], {
        env: {
          PATH: process.env.PATH,
          TANDEM_MEMBERS: members.map((m) => `127.0.0.1:${m.port}`).join(' '),
          UPSTREAM_FILE: n.upstreamFile,
          NGINX_TEST: `${nginxCmd} -t -q`,
          NGINX_RELOAD: `${nginxCmd} -s reload`,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (status) => resolve({ status, stderr }));
    });
  // A reload lets old workers close their idle keep-alive connections: a
  // request on such a connection fails ("other side closed"), status 0 here.
  const who = async (method = 'GET') => {
    try {
      const res = await fetch(`http://127.0.0.1:${n.port}/api/v1/projects`, { method, body: method === 'POST' ? '{}' : undefined });
      await res.body?.cancel();
      return { status: res.status, member: res.headers.get('x-member') };
    } catch {
      return { status: 0, member: null };
    }
  };
  /** Poll until every one of `count` requests is answered by a member of `site` (a reload takes effect when old workers finish). */
  const until = async (site: string, what: string) => {
    let seen: Awaited<ReturnType<typeof who>>[] = [];
    return waitFor(
      what,
      async () => {
        seen = await Promise.all(Array.from({ length: 6 }, () => who()));
        return seen.every((s) => s.status === 200 && s.member?.startsWith(site)) && seen;
      },
      10_000,
      50,
    ).catch((e: Error) => {
      throw new Error(`${e.message}: still ${JSON.stringify(seen)}`);
    });
  };

  const first = await switchOnce();
  t.equal(first.status, 0, `A active: the script succeeds\n${first.stderr}`);
  const upstreamA = readFileSync(n.upstreamFile, 'utf8');
  t.match(upstreamA, new RegExp(`server 127\\.0\\.0\\.1:${a1!.port} max_fails=1 fail_timeout=2s;\\nserver 127\\.0\\.0\\.1:${a2!.port} `), 'upstream lists A');
  t.notMatch(upstreamA, new RegExp(`:${b1!.port} |:${b2!.port} `), 'and not B');
  const seenA = await until('a', 'A active');
  t.same(new Set(seenA.map((s) => s.member)), new Set(['a1', 'a2']), 'both members of A serve requests');

  // Failover: A passive, B active. The script notices, rewrites and reloads.
  roles.a = 'passive';
  roles.b = 'active';
  // Until the script has switched the upstream, nginx still sends to A, whose
  // members refuse what nginx marks (X-Tandem-Require-Active), reads too: a
  // client gets a 503, never a success from the passive site.
  for (const method of ['GET', 'POST']) {
    let stale = await who(method);
    if (stale.status === 0) stale = await who(method); // a connection closed by the last reload, once
    t.equal(stale.status, 503, `${method} before the switch: 503 from the demoted site, not a success`);
  }
  t.same(members.flatMap((m) => m.marked).filter((x) => x.role !== 'active'), [], 'no member answered nginx with success while passive');
  const second = await switchOnce();
  t.equal(second.status, 0, `B active: the script succeeds\n${second.stderr}`);
  t.match(second.stderr, new RegExp(`active members now: 127\\.0\\.0\\.1:${b1!.port} 127\\.0\\.0\\.1:${b2!.port}`));
  t.equal(readFileSync(`${n.upstreamFile}.previous`, 'utf8'), upstreamA, 'the previous upstream is kept beside it');
  await until('b', 'B active');
  let write = await who('POST');
  if (write.status === 0) write = await who('POST'); // a connection closed by the reload, once
  t.equal(write.status, 201, 'a write through nginx succeeds on B');
  t.match(write.member, /^b/);

  // Nothing changed: no rewrite, no reload.
  const before = readFileSync(n.upstreamFile, 'utf8');
  const third = await switchOnce();
  t.equal(third.status, 0);
  t.equal(third.stderr, '', 'nothing to do, nothing said');
  t.equal(readFileSync(n.upstreamFile, 'utf8'), before, 'file untouched');

  // No active site: the upstream is kept, never emptied; exit 1 with a reason.
  roles.b = 'passive';
  const fourth = await switchOnce();
  t.equal(fourth.status, 1);
  t.match(fourth.stderr, /no member answers 200 on \/health\/active; keeping .* as it is/);
  t.equal(readFileSync(n.upstreamFile, 'utf8'), before, 'upstream kept');
});
