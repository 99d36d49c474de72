/** The outcome of checking a user name and password against a user source. */
export interface Identity {
  user: string;
  roles: string[];
  /** Directory group names (cn), for display and ACLs; local users have none. */
  groups: string[];
  displayName: string | null;
  email: string | null;
  source: 'ldap' | 'local';
}

export type LoginOutcome =
  | { ok: true; identity: Identity }
  /** Wrong password or unknown user: the two are never told apart to the client. */
  | { ok: false; reason: 'bad_credentials' | 'unknown_user' };

/** A user source. Throws TandemError('unavailable') when it cannot answer (directory down). */
export interface PasswordAuthenticator {
  /** Does this source know the user at all? Local users win over LDAP (break-glass accounts). */
  authenticate(username: string, password: string): Promise<LoginOutcome>;
}
