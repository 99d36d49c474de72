// The shipped deploy/haproxy/haproxy.cfg, run by Debian's real haproxy
// (test/harness/haproxy.ts), in front of two "sites" of two members each.
//
// The members here are small HTTP servers that follow the job server's
// contract for load balancers (deploy/README.md, Load balancer): GET /health/active answers 200 only
// while their site is active and 503 otherwise; writes on a passive site
// answer 503 site_passive with nothing done; reads are served everywhere.
// A request marked X-Tandem-Require-Active (the shipped frontend marks every
// request) is answered 503 site_passive by a passive site, reads too.
// haproxy.test.ts runs the same against real `tandem server` processes; here
// the test switches the roles itself at exact moments, so it can tell for
// every answer which role its site had: what is under test is HAProxy with
// the shipped configuration: that it routes only to the active site, without
// stickiness, that traffic moves by itself after a failover within the check
// interval plus 2 s, that no request, read or write, is answered with a
// success by a passive site, and that requests refused by a just-demoted
// member are retried on the new active site.
import t from 'tap';
import { startHaproxy, type ServerStat } from '../harness/haproxy.js';
import { standInSites as sites } from './members.js';
import { waitFor } from '../harness/wait.js';

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
  const body = (await res.json().catch(() => ({}))) as { member?: string };
  return { sentAt, at: Date.now(), method, status: res.status, member: body.member, site: res.headers.get('x-tandem-site') ?? undefined };
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
  // The load is running (some answers from A) before A is demoted.
  await waitFor('answers under load before the demotion', () => answers.length >= 10, 10_000);
  roles.a = 'passive';
  const demotedAt = Date.now();
  // No site active: hold that state until HAProxy has been asked a few times
  // (requests sent after the demotion answered), so the window is observed,
  // not guessed.
  await waitFor('answers for requests sent while no site is active', () => answers.filter((a) => a.sentAt > demotedAt).length >= 5, 10_000);
  roles.b = 'active';
  const promotedAt = Date.now();
  await lb.waitFor((s) => up(s, ['b1', 'b2']) && down(s, ['a1', 'a2']), 10_000, 'site B up, site A down');
  const settledAt = Date.now();
  // Keep the load going until a few requests sent after HAProxy settled were
  // answered, to see it stay on B.
  await waitFor('answers for requests sent after HAProxy settled', () => answers.filter((a) => a.sentAt > settledAt).length >= 10, 10_000);
  stopLoad = true;
  await load;

  const firstB = answers.find((a) => a.site === 'b' && a.status < 300);
  t.ok(firstB, 'site B answered after its promotion');
  const delay = firstB!.at - promotedAt;
  t.comment(`first answer from B ${delay} ms after the promotion; HAProxy settled after ${settledAt - promotedAt} ms`);
  // The bound: the check interval (1 s, haproxy.cfg) plus 2 s for the switch itself.
  t.ok(delay <= 3000, `traffic reached site B within inter + 2 s (${delay} ms)`);
  const afterSettled = answers.filter((a) => a.sentAt > settledAt);
  t.ok(afterSettled.length > 0, 'requests after HAProxy settled');
  t.ok(afterSettled.every((a) => a.site === 'b' && a.status < 300), 'after the switch every request is answered by site B');
  // No success from a passive site, reads included: seen by the client (a
  // request sent after A's demotion, or answered by B before its promotion)
  // and by the members (the role their site had when they answered).
  const okFromPassive = answers.filter(
    (a) => a.status >= 200 && a.status < 300 && ((a.site === 'a' && a.sentAt > demotedAt) || (a.site === 'b' && a.at < promotedAt)),
  );
  t.same(okFromPassive, [], 'no request (read or write) was answered with success by a passive site');
  t.same(
    members.flatMap((m) => m.marked).filter((x) => x.role !== 'active'),
    [],
    'no member answered a request from HAProxy with success while its site was passive',
  );
  t.ok(
    members.every((m) => m.markers.every((v) => v === '1')),
    'HAProxy marked every request it forwarded (X-Tandem-Require-Active: 1)',
  );
  t.same(
    members.flatMap((m) => m.acceptedWrites).filter((r) => r !== 'active'),
    [],
    'no member accepted a write while passive',
  );
  const failed = answers.filter((a) => a.status >= 300 || a.status === 0);
  t.comment(
    `${answers.length} requests during the switch, ${failed.length} not successful (503 or closed; no site was active for 300 ms): ` +
      `${failed.filter((a) => a.method === 'GET').length} reads, ${failed.filter((a) => a.method === 'POST').length} writes`,
  );
  t.ok(
    failed.every((a) => a.status === 503 || a.status === 0),
    `the only failures are 503s (or closed connections): ${JSON.stringify([...new Set(failed.map((a) => a.status))])}`,
  );
  t.same(
    failed.filter((a) => a.at < demotedAt || a.sentAt > promotedAt + 3000),
    [],
    'and only while no site was active or HAProxy had not yet seen the promotion (inter + 2 s)',
  );
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
  // Reads too: a1 still counts as up for HAProxy, refuses them (503), and they are retried on b1.
  const reads: Answer[] = [];
  for (let i = 0; i < 6; i++) reads.push(await request(lb.url, 'GET'));
  t.ok(reads.every((r) => r.status === 200 && r.site === 'b'), `every read answered by B: ${JSON.stringify(reads.map((r) => [r.status, r.member]))}`);
  t.same(members[0]!.marked, [], 'a1 answered nothing from HAProxy with success after its demotion');
  t.ok(members[0]!.markers.length > 0, 'a1 was still sent requests (and refused them)');
});

t.test('a client cannot opt out of the marker through HAProxy', async (t) => {
  const { roles, start } = sites(t);
  roles.a = 'passive';
  roles.b = 'active';
  const members = await Promise.all([start('a1', 'a'), start('b1', 'b')]);
  const lb = await startHaproxy(t, { servers: members.map((m) => ({ name: m.name, port: m.port })) });
  await lb.waitFor((s) => up(s, ['b1']) && down(s, ['a1']), 10_000, 'b1 up, a1 down');
  // A direct request to the passive member (no marker) is served: reads stay available there.
  const direct = await fetch(`http://127.0.0.1:${members[0]!.port}/api/v1/projects`);
  t.equal(direct.status, 200, 'direct read on the passive member: served');
  await direct.body?.cancel();
  members[1]!.markers.length = 0;
  for (const spoof of ['0', '', 'no', '1, 0']) {
    const res = await fetch(lb.url + '/api/v1/projects', { headers: { 'X-Tandem-Require-Active': spoof } });
    t.equal(res.status, 200, `client value ${JSON.stringify(spoof)}: answered`);
    await res.body?.cancel();
  }
  t.same(members[1]!.markers, ['1', '1', '1', '1'], 'the member received only HAProxy\'s own value, whatever the client sent');
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
