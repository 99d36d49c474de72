/** Who a request is from, once authenticated (ctx.state.principal). */
import type Koa from 'koa';
import { TandemError } from '../errors.js';
import type { AuthService } from './service.js';
import type { SessionStore } from './sql/get-session.js';

export interface Principal {
  user: string;
  roles: string[];
  groups: string[];
  via: 'token' | 'session';
  tokenId?: string;
  sessionId?: string;
  /** For sessions: `site` when opened on this site while it was not active (read-only, see sessions.ts). */
  sessionStore?: SessionStore;
}

/** What the authenticate middleware leaves in ctx.state for the handlers. */
export interface AuthState {
  principal?: Principal;
  /** The session's CSRF token when authenticated by cookie. */
  csrfToken?: string;
  auth?: AuthService;
  clientAddr?: string | null;
  /**
   * The session came in a SameSite=Strict cookie (the Rundeck API's JSESSIONID, server/rundeck-api/edge.ts),
   * which browsers never send cross-site: such a request needs no CSRF token.
   */
  strictSessionCookie?: boolean;
}

export function authState(ctx: Koa.Context): AuthState {
  return ctx.state as AuthState;
}

/** The principal, or 401 when the request is not authenticated. */
export function requirePrincipal(ctx: Koa.Context): Principal {
  const p = authState(ctx).principal;
  if (!p) throw new TandemError('unauthorized', 'authentication required: send Authorization: Bearer TOKEN or log in at /login');
  return p;
}

export function requireService(ctx: Koa.Context): AuthService {
  const s = authState(ctx).auth;
  if (!s) throw new TandemError('internal', 'the authenticate middleware is not installed in front of this route');
  return s;
}
