/**
 * One authenticated SSH connection (ssh2), with the host key checked against
 * the known keys before any credential is sent, and failures turned into the
 * reasons a step result shows: refused, timeout, unknown host, auth failed,
 * host key changed. Messages never carry a credential.
 */
import { Client } from 'ssh2';
import { TandemError, errorMessage } from '../../errors.js';
import type { HostKeyPolicy, HostKeyVerdict } from './host-keys.js';
import type { SshTarget } from './settings.js';

export interface Credentials {
  privateKey?: Buffer;
  passphrase?: Buffer;
  password?: string;
}

export type VerifyHostKey = (blob: Buffer, policy: HostKeyPolicy) => Promise<HostKeyVerdict>;

/** Large enough to mean "no timeout" for ssh2 (which needs a number). */
const NO_TIMEOUT = 2 ** 31 - 1;

export function connect(t: SshTarget, creds: Credentials, verify: VerifyHostKey): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let hostKeyRefusal: string | undefined;
    let settled = false;
    const fail = (reason: string) => {
      if (settled) return;
      settled = true;
      client.end();
      reject(new TandemError('unavailable', `node ${t.node} (${t.username}@${t.endpoint}): ${reason}`));
    };
    client.once('ready', () => {
      settled = true;
      resolve(client);
    });
    client.on('error', (e: Error & { code?: string; level?: string }) => {
      if (hostKeyRefusal) return fail(hostKeyRefusal);
      if (e.level === 'client-authentication') return fail(`authentication failed (${t.auth.kind === 'key' ? 'private key' : 'password'} from key storage refused)`);
      if (e.level === 'client-timeout') return fail(`timeout: no SSH handshake within ${t.connectTimeout} ms (ssh-connect-timeout)`);
      if (e.code === 'ECONNREFUSED') return fail('connection refused');
      if (e.code === 'ETIMEDOUT') return fail('timeout connecting');
      if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return fail(`unknown host ${t.host}`);
      if (e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH') return fail('host unreachable');
      fail(errorMessage(e));
    });
    client.on('close', () => fail('connection closed before the SSH session was ready'));
    try {
      client.connect({
        host: t.host,
        port: t.port,
        username: t.username,
        readyTimeout: t.connectTimeout > 0 ? t.connectTimeout : NO_TIMEOUT,
        keepaliveInterval: 15_000,
        ...(creds.privateKey ? { privateKey: creds.privateKey, passphrase: creds.passphrase } : {}),
        ...(creds.password !== undefined ? { password: creds.password } : {}),
        // Before authentication: no credential goes to a host whose key is not the known one.
        hostVerifier: (blob: Buffer, done: (ok: boolean) => void) => {
          verify(blob, t.hostKeyPolicy).then(
            (v) => {
              if (!v.ok) hostKeyRefusal = v.reason;
              done(v.ok);
            },
            (e) => {
              hostKeyRefusal = `cannot check the host key: ${errorMessage(e)}`;
              done(false);
            },
          );
        },
      });
    } catch (e) {
      // ssh2 throws synchronously for an unreadable key or a bad passphrase.
      fail(`cannot use the private key: ${errorMessage(e)}`);
    }
  });
}
