/**
 * Absolute URLs in Rundeck answers (`href`, `permalink`, `url`). Built from
 * `server.url` when it is configured (a server behind a load balancer must
 * name the address clients use), else from the address the request came to.
 *
 * `permalink` is Rundeck's link to a GUI page; Tandem links to the resource
 * in its own API (/api/v1) until a GUI page exists for it, in one place here.
 */
import type Koa from 'koa';
import { requestOrigin } from '../auth/http/request.js';
import type { Config } from '../config/schema.js';

export interface Links {
  /** `https://host[:port]` without a trailing slash. */
  base: string;
  /** The API version of the request, used in `href`s so that a client stays on the version it chose. */
  version: number;
}

export function linksFor(ctx: Koa.Context, config: Config, version: number): Links {
  return { base: config.server.url ?? requestOrigin(ctx, config.server.trustProxy), version };
}

const enc = encodeURIComponent;

export const href = {
  project: (l: Links, name: string) => `${l.base}/api/${l.version}/project/${enc(name)}`,
  job: (l: Links, id: string) => `${l.base}/api/${l.version}/job/${enc(id)}`,
  execution: (l: Links, id: string) => `${l.base}/api/${l.version}/execution/${enc(id)}`,
  metrics: (l: Links, what: string) => `${l.base}/api/${l.version}/metrics/${what}`,
};

export const permalink = {
  job: (l: Links, id: string) => `${l.base}/api/v1/jobs/${enc(id)}`,
  execution: (l: Links, id: string) => `${l.base}/api/v1/executions/${enc(id)}`,
};
