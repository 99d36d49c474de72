/**
 * Login against an LDAP directory: find the user with the service account
 * (filter values escaped), bind as the found DN with the given password,
 * bind back as the service account, read the user's groups (groupOfNames /
 * groupOfUniqueNames by DN, posixGroup by uid; optionally nested groups) and
 * map them to roles.
 */
import { Filter, InvalidCredentialsError, type Client, type Entry } from 'ldapts';
import { TandemError, errorMessage, isTandemError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Config } from '../../config/schema.js';
import type { LoginOutcome, PasswordAuthenticator } from '../identity.js';
import { connectService, readCaFile, validateLdapUrls, type LdapConnectOptions } from './connect.js';
import { parseRoleMap, rolesFor, type RoleMap } from './role-map.js';

/** Groups nested deeper than this are ignored (and cycles are cut anyway). */
const MAX_NESTING = 10;

function fill(template: string, values: Record<string, string>): string {
  // Every value is escaped (RFC 4515), so `*`, `(`, `)`, `\` and NUL in a user name match literally.
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (k in values ? Filter.escape(values[k]!) : m));
}

function first(e: Entry, attr: string): string | null {
  const v = e[attr];
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined) return null;
  return Buffer.isBuffer(s) ? s.toString('utf8') : String(s);
}

export class LdapAuthenticator implements PasswordAuthenticator {
  private readonly conn: LdapConnectOptions;
  private readonly roleMap: RoleMap;

  constructor(
    private readonly cfg: Config['auth']['ldap'],
    private readonly log: Logger,
  ) {
    const urls = cfg.urls ?? [];
    validateLdapUrls(urls);
    if (!cfg.userBase) throw new TandemError('invalid_config', 'auth.ldap.userBase is required when auth.ldap.urls is set', { field: 'auth.ldap.userBase' });
    if (!cfg.userFilter.includes('{username}'))
      throw new TandemError('invalid_config', 'auth.ldap.userFilter must contain {username}', { field: 'auth.ldap.userFilter' });
    this.conn = { urls, bindDn: cfg.bindDn, bindPassword: cfg.bindPassword, timeoutMs: cfg.timeoutMs, startTls: cfg.startTls, ca: readCaFile(cfg.caFile) };
    this.roleMap = parseRoleMap(cfg.roleMap);
  }

  async authenticate(username: string, password: string): Promise<LoginOutcome> {
    // An LDAP bind with an empty password is an "unauthenticated bind" that
    // servers report as success: refuse it before talking to the directory.
    if (password === '' || username === '') return { ok: false, reason: 'bad_credentials' };
    const { client, url } = await connectService(this.conn, this.log);
    try {
      const { searchEntries } = await client.search(this.cfg.userBase!, {
        scope: 'sub',
        filter: fill(this.cfg.userFilter, { username }),
        attributes: ['uid', 'cn', 'displayName', 'mail'],
        sizeLimit: 2,
      });
      if (searchEntries.length === 0) return { ok: false, reason: 'unknown_user' };
      if (searchEntries.length > 1) {
        this.log.warn('LDAP user filter matched several entries; refusing the login', { user: username });
        return { ok: false, reason: 'bad_credentials' };
      }
      const entry = searchEntries[0]!;
      try {
        await client.bind(entry.dn, password);
      } catch (e) {
        if (e instanceof InvalidCredentialsError) return { ok: false, reason: 'bad_credentials' };
        throw e;
      }
      // Read groups as the service account: users often may not search the group tree.
      if (this.conn.bindDn) await client.bind(this.conn.bindDn, this.conn.bindPassword ?? '');
      const uid = first(entry, 'uid') ?? username;
      const groups = await this.groupsOf(client, entry.dn, uid);
      const roles = rolesFor(groups, this.roleMap, this.cfg.supplementalRoles);
      return {
        ok: true,
        identity: {
          user: uid,
          roles,
          groups,
          displayName: first(entry, 'displayName') ?? first(entry, 'cn'),
          email: first(entry, 'mail'),
          source: 'ldap',
        },
      };
    } catch (e) {
      if (isTandemError(e)) throw e;
      this.log.warn('LDAP login failed', { url, err: errorMessage(e) });
      throw new TandemError('unavailable', `the login directory did not answer properly, try again later (${errorMessage(e)})`, { cause: e });
    } finally {
      await client.unbind().catch((err: unknown) => this.log.debug('LDAP unbind failed', { url, err: errorMessage(err) }));
    }
  }

  /** Names (cn) of the user's groups, with the groups containing them when nestedGroups is on. */
  private async groupsOf(client: Client, userDn: string, uid: string): Promise<string[]> {
    const base = this.cfg.groupBase ?? this.cfg.userBase!;
    const names = new Map<string, string>(); // dn (lower case) → cn
    const found = await client.search(base, { scope: 'sub', filter: fill(this.cfg.groupFilter, { dn: userDn, username: uid }), attributes: ['cn'] });
    let frontier: string[] = [];
    for (const g of found.searchEntries) {
      names.set(g.dn.toLowerCase(), first(g, 'cn') ?? g.dn);
      frontier.push(g.dn);
    }
    for (let depth = 0; this.cfg.nestedGroups && frontier.length && depth < MAX_NESTING; depth++) {
      const next: string[] = [];
      for (const dn of frontier) {
        const parents = await client.search(base, { scope: 'sub', filter: fill('(|(member={dn})(uniqueMember={dn}))', { dn }), attributes: ['cn'] });
        for (const p of parents.searchEntries) {
          if (names.has(p.dn.toLowerCase())) continue;
          names.set(p.dn.toLowerCase(), first(p, 'cn') ?? p.dn);
          next.push(p.dn);
        }
      }
      frontier = next;
    }
    return [...new Set(names.values())].sort();
  }
}
