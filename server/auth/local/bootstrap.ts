/**
 * First-start convenience for embedded setups (`tandem demo`): make sure the
 * users file has an account to log in with, generating a random password
 * that the caller prints once. An existing account is left alone.
 */
import { randomBytes } from 'node:crypto';
import { hashPassword } from '../password.js';
import { readUsersFile, writeUsersFile } from './users-file.js';

export async function ensureLocalUser(file: string, name: string, roles: string[]): Promise<{ created: boolean; password?: string }> {
  const users = readUsersFile(file);
  if (users.has(name)) return { created: false };
  const password = randomBytes(12).toString('base64url');
  users.set(name, { password: await hashPassword(password), roles });
  writeUsersFile(file, users);
  return { created: true, password };
}
