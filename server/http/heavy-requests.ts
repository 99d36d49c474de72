/**
 * A cap on the requests of one member that cost much memory or time at
 * once: lists, exports, imports and log reads. 200 concurrent lists of 3,000
 * jobs held a member's event loop for 10 s; with the cap, the requests over
 * it answer 429 `too_many_requests` with `Retry-After` at once (a client or
 * a load balancer tries again), and the member keeps answering everything
 * else (health checks first of all).
 *
 * The counter belongs to one app (one member), not to a module.
 */
import type Koa from 'koa';
import { TandemError } from '../errors.js';

export interface HeavyRequestGate {
  /** Mount on a route before it reads a body or queries: `router.get(path, heavy, handler)`. */
  readonly middleware: Koa.Middleware;
  /** Requests under way now. */
  inFlight(): number;
}

export function heavyRequestGate(max: number): HeavyRequestGate {
  let inFlight = 0;
  const middleware: Koa.Middleware = async (ctx, next) => {
    if (inFlight >= max) {
      throw new TandemError('too_many_requests', `this member is serving ${max} large requests; try again in a moment`, { details: { retryAfter: 1 } });
    }
    inFlight++;
    let released = false;
    const release = () => {
      if (!released) inFlight--;
      released = true;
    };
    try {
      await next();
    } catch (e) {
      release();
      throw e;
    }
    // The answer is written after the handlers return (a JSON body serialized, an export streamed): the slot is
    // held until the response is done or its connection closed.
    const res = ctx.res as import('node:http').ServerResponse | undefined;
    if (!res || res.writableFinished || res.destroyed) release();
    else res.once('close', release);
  };
  return { middleware, inFlight: () => inFlight };
}
