/**
 * Opening a bound service-account connection to the first LDAP server of
 * `auth.ldap.urls` that answers. TLS (ldaps:// or StartTLS) always verifies
 * the server certificate, against `caFile` when given or the system CAs
 * otherwise; there is deliberately no setting to turn verification off.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client } from 'ldapts';
import { TandemError, errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';

export interface LdapConnectOptions {
  urls: string[];
  bindDn?: string;
  bindPassword?: string;
  timeoutMs: number;
  startTls: boolean;
  /** PEM text of the CA bundle (read once at start-up). */
  ca?: string;
}

export function readCaFile(file: string | undefined): string | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new TandemError('invalid_config', `auth.ldap.caFile: cannot read ${file}: ${(e as Error).message}`, { field: 'auth.ldap.caFile' });
  }
}

export function validateLdapUrls(urls: string[]): void {
  for (const u of urls) {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      throw new TandemError('invalid_config', `auth.ldap.urls: "${u}" is not an ldap:// or ldaps:// URL`, { field: 'auth.ldap.urls' });
    }
    if (parsed.protocol !== 'ldap:' && parsed.protocol !== 'ldaps:')
      throw new TandemError('invalid_config', `auth.ldap.urls: "${u}" is not an ldap:// or ldaps:// URL`, { field: 'auth.ldap.urls' });
  }
}

function tlsOptions(url: string, ca: string | undefined): ConnectionOptions {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return {
    ...(ca ? { ca: [ca] } : {}),
    rejectUnauthorized: true,
    // SNI only for names; the certificate is still checked against an IP address's SAN.
    ...(isIP(host) ? {} : { servername: host }),
  };
}

/** A connected client bound as the service account, and the URL that answered. */
export async function connectService(o: LdapConnectOptions, log: Logger): Promise<{ client: Client; url: string }> {
  const failures: string[] = [];
  for (const url of o.urls) {
    const tls = tlsOptions(url, o.ca);
    // ldapts speaks TLS from the first byte whenever tlsOptions is given, so only for ldaps://.
    const secure = url.startsWith('ldaps:');
    const client = new Client({ url, timeout: o.timeoutMs, connectTimeout: o.timeoutMs, ...(secure ? { tlsOptions: tls } : {}), strictDN: false });
    try {
      if (o.startTls && url.startsWith('ldap:')) await client.startTLS(tls);
      if (o.bindDn) await client.bind(o.bindDn, o.bindPassword ?? '');
      return { client, url };
    } catch (e) {
      failures.push(`${url}: ${errorMessage(e)}`);
      log.warn('LDAP server unavailable, trying the next one', { url, err: errorMessage(e) });
      await client.unbind().catch((err: unknown) => log.debug('closing failed LDAP connection', { url, err: errorMessage(err) }));
    }
  }
  throw new TandemError('unavailable', `the login directory is unavailable, try again later (${failures.join('; ')})`);
}
