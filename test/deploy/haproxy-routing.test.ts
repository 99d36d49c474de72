// The shipped deploy/haproxy/haproxy.cfg, run by Debian's real haproxy
// (test/harness/haproxy.ts), in front of two "sites" of two members each.
//
// The members here are small HTTP servers that follow the job server's
// contract for load balancers (issue 7): GET /health/active answers 200 only
// while their site is active and 503 otherwise; writes on a passive site
// answer 503 site_passive with nothing done; reads are served everywhere.
// They stand in for `tandem server` until the site roles and /health/active
// exist; what is under test is HAProxy with the shipped configuration: that
// it routes only to the active site, without stickiness, that traffic moves
// by itself after a failover within the check interval plus 2 s, and that a
// write refused by a just-demoted member is retried on the new active site.
import t from 'tap';
import { startHaproxy, type ServerStat } from '../harness/haproxy.js';
import { standInSites as sites } from './members.js';

interface Answer {
  /** When the request was sent, and when its answer came. */
  sentAt: number;
  at: number;
  method: string;
  status: number;
  member?: string;
  site?: string;
}

/**
 * One request through the load balancer. While no site is active HAProxy
 * answers 503 itself, or (when its last server goes down during a retry)
 * closes the connection: recorded as status 0, as a client would see it.
 */
async function request(url: string, method: 'GET' | 'POST'): Promise<Answer> {
  const sentAt = Date.now();
  let res: Response;
  try {
    res = await fetch(url + '/api/v1/projects', {
      method,
      body: method === 'POST' ? JSON.stringify({ name: 'p' }) : undefined,
      headers: method === 'POST' ? { 'content-type': 'application/json' } : {},
    });
  } catch {
    return { sentAt, at: Date.now(), method, status: 0 };
  }
  const body = (await res.json().catch(() => ({}))) as { member?: string; site?: string };
  return { sentAt, at: Date.now(), method, status: res.status, member: body.member, site: body.site };
}

const up = (s: ServerStat[], names: string[]) => names.every((n) => s.find((x) => x.name === n)?.status === 'UP');
const down = (s: ServerStat[], names: string[]) => names.every((n) => s.find((x) => x.name === n)?.status === 'DOWN');

t.test('traffic goes only to the active site and follows a failover', async (t) => {
  const { roles, start } = sites(t);
  const members = await Promise.all([start('a1', 'a'), start('a2', 'a'), start('b1', 'b'), start('b2', 'b')]);
  const lb = await startHaproxy(t, { servers: members.map((m) => ({ name: m.name, port: m.port })) });
  await lb.waitFor((s) => up(s, ['a1', 'a2']) && down(s, ['b1', 'b2']), 10_000, 'site A up, site B down');

  // Only site A answers, and both of its members do (round robin, no stickiness).
  const before: Answer[] = [];
  for (let i = 0; i < 20; i++) before.push(await request(lb.url, i % 2 ? 'POST' : 'GET'));
  t.same(new Set(before.map((a) => a.site)), new Set(['a']), 'every request answered by site A');
  t.same(new Set(before.map((a) => a.member)), new Set(['a1', 'a2']), 'both members of A serve requests');
  t.ok(before.every((a) => a.status < 300), 'all succeed');

  // Switchover: A stops being active, a moment later B is promoted (as
  // `tandem failover` does: never two active sites).
  const answers: Answer[] = [];
  let stopLoad = false;
  const load = (async () => {
    for (let i = 0; !stopLoad; i++) answers.push(await request(lb.url, i % 2 ? 'POST' : 'GET'));
  })();
  await new Promise((r) => setTimeout(r, 200));
  roles.a = 'passive';
  const demotedAt = Date.now();
  await new Promise((r) => setTimeout(r, 300));
  roles.b = 'active';
  const promotedAt = Date.now();
  await lb.waitFor((s) => up(s, ['b1', 'b2']) && down(s, ['a1', 'a2']), 10_000, 'site B up, site A down');
  const settledAt = Date.now();
  // Keep the load going a little after HAProxy settled, to see it stay on B.
  await new Promise((r) => setTimeout(r, 300));
  stopLoad = true;
  await load;

  const firstB = answers.find((a) => a.site === 'b' && a.status < 300);
  t.ok(firstB, 'site B answered after its promotion');
  const delay = firstB!.at - promotedAt;
  t.comment(`first answer from B ${delay} ms after the promotion; HAProxy settled after ${settledAt - promotedAt} ms`);
  // Issue 8's bound: the check interval (1 s, haproxy.cfg) plus 2 s.
  t.ok(delay <= 3000, `traffic reached site B within inter + 2 s (${delay} ms)`);
  const afterSettled = answers.filter((a) => a.sentAt > settledAt);
  t.ok(afterSettled.length > 0, 'requests after HAProxy settled');
  t.ok(afterSettled.every((a) => a.site === 'b' && a.status < 300), 'after the switch every request is answered by site B');
  t.ok(
    answers.filter((a) => a.site === 'a' && a.method === 'POST' && a.sentAt > demotedAt).every((a) => a.status >= 300),
    'no write was answered with success by site A after it stopped being active',
  );
  t.same(
    members.flatMap((m) => m.acceptedWrites).filter((r) => r !== 'active'),
    [],
    'no member accepted a write while passive',
  );
  const failed = answers.filter((a) => a.status >= 300 || a.status === 0);
  t.comment(`${answers.length} requests during the switch, ${failed.length} not successful (503 or closed while no site was active)`);
  const aAfterPromotion = answers.filter((a) => a.site === 'a' && a.sentAt > promotedAt + 3000);
  t.same(aAfterPromotion, [], 'nothing answered by site A later than 3 s after the promotion');
});

t.test('a write refused by a demoted member is retried on the active site', async (t) => {
  const { roles, start } = sites(t);
  const members = await Promise.all([start('a1', 'a'), start('b1', 'b')]);
  const lb = await startHaproxy(t, { servers: members.map((m) => ({ name: m.name, port: m.port })) });
  await lb.waitFor((s) => up(s, ['a1']) && down(s, ['b1']), 10_000, 'a1 up, b1 down');
  // Promote B, then demote A right away: HAProxy still sees a1 up and b1
  // down for a moment; as soon as b1 is up, writes refused by a1 (503
  // site_passive) are retried (retry-on 503, redispatch) on b1.
  roles.b = 'active';
  await lb.waitFor((s) => up(s, ['a1', 'b1']), 10_000, 'both up (B promoted, A not yet demoted)');
  roles.a = 'passive';
  const writes: Answer[] = [];
  for (let i = 0; i < 6; i++) writes.push(await request(lb.url, 'POST'));
  t.ok(writes.every((w) => w.status === 201 && w.site === 'b'), `every write succeeded on B: ${JSON.stringify(writes.map((w) => [w.status, w.member]))}`);
  t.same(members[0]!.acceptedWrites, [], 'a1 accepted nothing');
});

t.test('with no active site HAProxy answers 503 itself', async (t) => {
  const { roles, start } = sites(t);
  roles.a = 'passive';
  const members = await Promise.all([start('a1', 'a'), start('b1', 'b')]);
  const lb = await startHaproxy(t, { servers: members.map((m) => ({ name: m.name, port: m.port })) });
  await lb.waitFor((s) => down(s, ['a1', 'b1']), 10_000, 'every server down');
  const res = await fetch(lb.url + '/api/v1/projects');
  t.equal(res.status, 503, 'no server available: 503');
  t.notOk(res.headers.get('x-member'), 'not answered by a member');
  await res.body?.cancel();
});
