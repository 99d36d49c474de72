// The shipped nginx variant without a script (deploy/nginx/tandem-passive-checks.conf),
// run by a real nginx in front of two sites' stand-in members (./members.ts)
// that follow the job server's contract: a request marked
// X-Tandem-Require-Active (nginx sets it on every request) is answered
// 503 site_passive by a passive site, reads too, and nginx passes it to the
// next member (proxy_next_upstream http_503). What is under test: no request,
// read or write, is answered with success by a passive site, before, during
// and after a failover; traffic follows the failover; clients cannot opt out.
import t from 'tap';
import { standInSites } from './members.js';
import { runNginx } from './nginx-render.js';
import { waitFor } from '../harness/wait.js';

interface Answer {
  sentAt: number;
  at: number;
  method: string;
  status: number;
  site: string | null;
}

t.test('nginx with passive checks: no success from a passive site, and traffic follows a failover', async (t) => {
  const { roles, start } = standInSites(t);
  const [a1, a2, b1, b2] = await Promise.all([start('a1', 'a'), start('a2', 'a'), start('b1', 'b'), start('b2', 'b')]);
  const members = [a1!, a2!, b1!, b2!];
  const n = await runNginx(t, 'tandem-passive-checks.conf', Object.fromEntries(members.map((m) => [`tandem-${m.name}.example.org:4440`, m.port])));
  let writes = 0;
  const request = async (method: 'GET' | 'POST', headers: Record<string, string> = {}): Promise<Answer> => {
    const sentAt = Date.now();
    const body = method === 'POST' ? JSON.stringify({ name: `p${writes++}` }) : undefined;
    try {
      const res = await fetch(`http://127.0.0.1:${n.port}/api/v1/projects`, { method, headers: body ? { ...headers, 'content-type': 'application/json' } : headers, body });
      await res.body?.cancel();
      return { sentAt, at: Date.now(), method, status: res.status, site: res.headers.get('x-tandem-site') };
    } catch {
      return { sentAt, at: Date.now(), method, status: 0, site: null };
    }
  };

  // A active: every request is answered by A, B's members refuse what nginx sends them.
  const before: Answer[] = [];
  for (let i = 0; i < 24; i++) before.push(await request(i % 2 ? 'POST' : 'GET', i % 3 ? {} : { 'X-Tandem-Require-Active': '0' }));
  t.ok(before.every((a) => a.status < 300 && a.site === 'a'), `every request answered with success by A: ${JSON.stringify(before.map((a) => [a.status, a.site]))}`);
  t.ok(b1!.markers.length + b2!.markers.length > 0, "B's members were sent requests too, refused them, and nginx passed them to A");
  t.ok(
    members.every((m) => m.markers.every((v) => v === '1')),
    'nginx marked every request with its own value (a client sending "0" cannot opt out)',
  );

  // Failover under load: A demoted, a moment later B promoted.
  const answers: Answer[] = [];
  let loading = true;
  const load = (async () => {
    for (let i = 0; loading; i++) answers.push(await request(i % 2 ? 'POST' : 'GET'));
  })();
  // The load is running (some answers from A) before A is demoted.
  await waitFor('answers under load before the demotion', () => answers.length >= 10, 10_000);
  roles.a = 'passive';
  const demotedAt = Date.now();
  // No site active: hold that state until nginx has been asked a few times
  // (requests sent after the demotion answered), so the window is observed,
  // not guessed.
  await waitFor('answers for requests sent while no site is active', () => answers.filter((a) => a.sentAt > demotedAt).length >= 5, 10_000);
  roles.b = 'active';
  const promotedAt = Date.now();
  // Wait until B answers, then until a few more requests sent after that
  // moment were answered, to see the traffic stay on B.
  await waitFor('a success from B after its promotion', () => answers.some((a) => a.site === 'b' && a.status < 300 && a.sentAt > promotedAt), 10_000);
  const settledAt = Date.now();
  await waitFor('answers for requests sent after B took over', () => answers.filter((a) => a.sentAt > settledAt).length >= 10, 10_000);
  loading = false;
  await load;

  const firstB = answers.find((a) => a.site === 'b' && a.status < 300);
  t.ok(firstB, 'B answered after its promotion');
  t.comment(`first success from B ${firstB ? firstB.at - promotedAt : '-'} ms after the promotion; ${answers.length} requests during the switch`);
  t.ok(firstB && firstB.at - promotedAt <= 3000, 'within 3 s of the promotion');
  const okFromPassive = answers.filter((a) => a.status < 300 && a.status > 0 && ((a.site === 'a' && a.sentAt > demotedAt) || (a.site === 'b' && a.at < promotedAt)));
  t.same(okFromPassive, [], 'no request (read or write) answered with success by a passive site');
  t.same(
    members.flatMap((m) => m.marked).filter((x) => x.role !== 'active'),
    [],
    'no member answered a request from nginx with success while its site was passive',
  );
  const after = answers.filter((a) => a.sentAt > settledAt);
  t.ok(after.length > 0 && after.every((a) => a.status < 300 && a.site === 'b'), `after the switch every request succeeds on B: ${JSON.stringify(after.map((a) => [a.status, a.site]))}`);
  // Writes go through the @writes location (a redirect inside nginx): their bodies arrive whole.
  const acked = [...before, ...answers].filter((a) => a.method === 'POST' && a.status === 201).length;
  const bodies = members.flatMap((m) => m.bodies);
  t.equal(bodies.length, acked, `every acknowledged write reached a member once (${acked})`);
  t.ok(bodies.length > 0 && bodies.every((b) => /^\{"name":"p\d+"\}$/.test(b)), 'with its body intact');
  t.equal(new Set(bodies).size, bodies.length, 'no write was applied twice');
  const failed = answers.filter((a) => a.status >= 300 || a.status === 0);
  t.comment(`${failed.length} not successful during the switch (no site was active for 300 ms): ${JSON.stringify([...new Set(failed.map((a) => a.status))])}`);
});
