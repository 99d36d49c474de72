/** Logging in through the HTTP API and keeping the session cookie, as a browser would. */
import { call } from './helpers.js';

export interface Session {
  cookie: string;
  csrfToken: string;
  setCookie: string;
  body: any;
}

export async function login(url: string, username: string, password: string): Promise<{ status: number; body: any; headers: Headers; session?: Session }> {
  const r = await call(`${url}/auth/login`, { method: 'POST', body: { username, password } });
  if (r.status !== 200) return r;
  const setCookie = r.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0]!;
  return { ...r, session: { cookie, csrfToken: r.body.csrfToken, setCookie, body: r.body } };
}
