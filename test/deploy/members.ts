/**
 * Stand-in job-server members for load balancer tests: small HTTP servers
 * that follow the job server's contract for load balancers (deploy/README.md, Load balancer):
 * GET /health/active answers 200 only while their site is active and 503
 * otherwise; writes (POST) on a passive site answer 503 site_passive with
 * nothing done; a request marked `X-Tandem-Require-Active` (set by the load
 * balancer) is answered 503 site_passive by a passive site, reads too
 * (server/site/balancer.ts); unmarked reads are served everywhere. Every
 * answer names the member (`x-member` header and `member` in the body) and
 * the site (`x-tandem-site`, as the job server does).
 */
import http from 'node:http';
import { once } from 'node:events';
import type { Teardown } from '../harness/tmp.js';

export type Role = 'active' | 'passive';

export interface Member {
  name: string;
  site: string;
  port: number;
  /** POSTs this member accepted (answered 2xx), with the role it had then. */
  acceptedWrites: Role[];
  /** Every successful (2xx) answer to a marked request, with the role the site had when it answered. */
  marked: { method: string; role: Role }[];
  /** Values of X-Tandem-Require-Active this member received (undefined: unmarked). */
  markers: (string | undefined)[];
  /** Bodies of the POSTs this member accepted. */
  bodies: string[];
}

/** Two sites' members sharing one role table (the "database" of each site). */
export function standInSites(t: Teardown) {
  const roles: Record<string, Role> = { a: 'active', b: 'passive' };
  const start = async (name: string, site: string): Promise<Member> => {
    const m: Member = { name, site, port: 0, acceptedWrites: [], marked: [], markers: [], bodies: [] };
    const srv = http.createServer((req, res) => {
      const role = roles[site]!;
      const marker = req.headers['x-tandem-require-active'] as string | undefined;
      const send = (status: number, body: unknown) => {
        if (marker !== undefined && status < 300) m.marked.push({ method: req.method!, role });
        res.writeHead(status, { 'content-type': 'application/json', 'x-member': name, 'x-tandem-site': site });
        res.end(JSON.stringify(body));
      };
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        if (req.url === '/health/active') return send(role === 'active' ? 200 : 503, { site, role });
        m.markers.push(marker);
        if (marker !== undefined && role !== 'active') return send(503, { error: { code: 'site_passive', message: `this site is ${role}`, role } });
        if (req.method === 'GET') return send(200, { member: name, site });
        if (role !== 'active') return send(503, { error: { code: 'site_passive', message: 'this site is passive' } });
        m.acceptedWrites.push(role);
        m.bodies.push(body);
        return send(201, { member: name, site });
      });
    });
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    t.teardown(
      () =>
        new Promise<void>((r) => {
          srv.close(() => r());
          srv.closeAllConnections();
        }),
    );
    m.port = (srv.address() as { port: number }).port;
    return m;
  };
  return { roles, start };
}
