/**
 * Password check against the local users file. The file is read at each
 * login so that `tandem user add|passwd|remove` take effect without a
 * restart (it is small; logins are rare compared to API calls).
 */
import { DUMMY_HASH, verifyPassword } from '../password.js';
import type { LoginOutcome } from '../identity.js';
import { readUsersFile } from './users-file.js';

export class LocalAuthenticator {
  constructor(readonly file: string) {}

  has(username: string): boolean {
    return readUsersFile(this.file).has(username);
  }

  async authenticate(username: string, password: string): Promise<LoginOutcome> {
    const user = readUsersFile(this.file).get(username);
    // Hash anyway for an unknown user, so response time does not reveal which names exist.
    const ok = await verifyPassword(password, user?.password ?? DUMMY_HASH);
    if (!user) return { ok: false, reason: 'unknown_user' };
    if (!ok) return { ok: false, reason: 'bad_credentials' };
    return { ok: true, identity: { user: username, roles: [...user.roles], groups: [], displayName: user.name ?? null, email: null, source: 'local' } };
  }
}
