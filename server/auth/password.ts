/**
 * Password hashes for the local users file: scrypt (N=2^15, r=8, p=1, 16-byte
 * salt, 32-byte key), stored as `$scrypt$N=32768,r=8,p=1$SALT$HASH` (base64),
 * so the parameters can be raised later without breaking old entries.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const DEFAULT = { N: 32768, r: 8, p: 1 };
const KEYLEN = 32;

function scryptAsync(password: string, salt: Buffer, o: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEYLEN, { ...o, maxmem: 256 * o.N! * o.r! }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** `N` may be lowered by tests (hashes carry their own parameters); production uses the default. */
export async function hashPassword(password: string, cost: { N?: number } = {}): Promise<string> {
  const o = { ...DEFAULT, ...cost };
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, o);
  return `$scrypt$N=${o.N},r=${o.r},p=${o.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

const FORMAT = /^\$scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

export function isPasswordHash(s: string): boolean {
  return FORMAT.test(s);
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = FORMAT.exec(stored);
  if (!m) return false;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const expected = Buffer.from(m[5]!, 'base64');
  const key = await scryptAsync(password, Buffer.from(m[4]!, 'base64'), { N, r, p });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash of a random password, checked against when the user does not exist so that timing does not reveal it. */
export const DUMMY_HASH =
  '$scrypt$N=32768,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
