/**
 * Who is signed in and which site and member answered, loaded once when the
 * app starts (/api/v1/me, /api/v1/site) and given to every page by context.
 */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api } from './api';

export interface Me {
  user: string;
  roles: string[];
  groups: string[];
  via: 'session' | 'token';
  csrfToken?: string;
  /** A session opened on a site that was not active: it may only look. */
  readOnly?: boolean;
}

export type SiteRole = 'active' | 'draining' | 'passive' | 'fenced';

export interface SiteInfo {
  name: string | null;
  role: SiteRole;
  epoch: number | null;
  activeSite: string | null;
  activeUrl: string | null;
  member: string;
}

export interface Session {
  api: Api;
  me: Me;
  site: SiteInfo;
  /** Changes are refused here (site not active, or a look-only session): pages hide or disable their change controls. */
  readOnly: boolean;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside the SessionContext provider');
  return s;
}
