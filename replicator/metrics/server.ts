/**
 * The replicator's own HTTP listener (`tandem replicate --metrics-port`):
 * `GET /metrics` (Prometheus text) and `GET /health/live`; anything else 404.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../server/log.js';
import type { Registry } from '../../server/metrics/registry.js';

export interface MetricsServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(o: { registry: Registry; host: string; port: number; log: Logger }): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: { code: 'method_not_allowed', message: `${req.method} is not allowed` } });
    if (path === '/health/live') return json(200, { status: 'ok' });
    if (path !== '/metrics') return json(404, { error: { code: 'not_found', message: `no route for ${req.method} ${path}` } });
    o.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': o.registry.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (e: Error) => {
        o.log.error('metrics: cannot render', { error: e });
        json(500, { error: { code: 'internal', message: 'cannot render metrics (see the replicator log)' } });
      },
    );
  });
  server.listen(o.port, o.host);
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([e]) => {
      throw e;
    }),
  ]);
  const port = (server.address() as AddressInfo).port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  o.log.info('metrics listening', { url: `${url}/metrics` });
  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
