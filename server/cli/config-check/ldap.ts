/**
 * Each LDAP server of `auth.ldap.urls`, one by one: connect (TLS as the job
 * server does it, certificate always verified) and bind as the service
 * account, then look up `userBase` and `groupBase` so that a wrong base DN
 * shows up before the first login does.
 */
import type { Client } from 'ldapts';
import type { Config } from '../../config/schema.js';
import { connectService, readCaFile, validateLdapUrls } from '../../auth/ldap/connect.js';
import { errorMessage } from '../../errors.js';
import { silentLogger } from '../../log.js';
import { within, type Check } from './result.js';

async function baseExists(client: Client, dn: string, what: string): Promise<void> {
  try {
    await client.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: ['dn'], sizeLimit: 1 });
  } catch (e) {
    throw new Error(`${what} "${dn}": ${readableLdapError(errorMessage(e))}`);
  }
}

/** ldapts reports some server answers only as "Code: 0x31"; name the usual ones. */
const resultCodes: Record<number, string> = {
  0x20: 'no such object (a base DN does not exist)',
  0x30: 'inappropriate authentication',
  0x31: 'invalid credentials (wrong auth.ldap.bindDn or bindPassword)',
  0x32: 'insufficient access rights',
  0x35: 'unwilling to perform (e.g. an empty bind password)',
};

function readableLdapError(reason: string): string {
  return reason.replace(/\s*Code: 0x([0-9a-f]+)/i, (m, hex: string) => {
    const code = parseInt(hex, 16);
    return `${resultCodes[code] ?? 'LDAP error'} (LDAP result ${code})`;
  }).trim();
}

export function ldapChecks(cfg: Config['auth']['ldap'], timeoutMs: number): Check[] {
  if (!cfg.urls?.length) return [{ item: 'ldap', run: async () => ({ skip: 'auth.ldap.urls is not set (local users file only)' }) }];
  validateLdapUrls(cfg.urls);
  const ca = readCaFile(cfg.caFile);
  return cfg.urls.map((url) => ({
    item: `ldap ${url}`,
    async run() {
      const { client } = await within(
        timeoutMs + 1000,
        url,
        connectService({ urls: [url], bindDn: cfg.bindDn, bindPassword: cfg.bindPassword, timeoutMs, startTls: cfg.startTls, ca }, silentLogger),
      ).catch((e: unknown) => {
        // connectService words its error for end users ("try again later", "URL: reason"); keep the reason alone.
        const reason = errorMessage(e)
          .replace(/^the login directory is unavailable, try again later \((.*)\)$/s, '$1')
          .replace(`${url}: `, '');
        throw new Error(readableLdapError(reason));
      });
      try {
        if (cfg.userBase) await within(timeoutMs, url, baseExists(client, cfg.userBase, 'auth.ldap.userBase'));
        if (cfg.groupBase) await within(timeoutMs, url, baseExists(client, cfg.groupBase, 'auth.ldap.groupBase'));
      } finally {
        await client.unbind().catch(() => {});
      }
      const who = cfg.bindDn ? `bound as ${cfg.bindDn}` : 'connected (anonymous: auth.ldap.bindDn is not set)';
      const bases = [cfg.userBase && 'userBase', cfg.groupBase && 'groupBase'].filter(Boolean);
      return `${who}${bases.length ? `; ${bases.join(' and ')} found` : ''}`;
    },
  }));
}
