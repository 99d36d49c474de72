/**
 * What the web UI tests share: a job server on a harness PostgreSQL with local
 * users (admin, a read-only user), the UI built from the sources, and one
 * Chromium per file.
 */
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { hashPassword } from '../../server/auth/password.js';
import { writeUsersFile } from '../../server/auth/local/users-file.js';
import type { TestPostgres } from '../harness/postgres.js';
import { buildUiAssets, startBrowser } from '../harness/browser.js';
import { tempDir, type Teardown } from '../harness/tmp.js';
import { startTestServer, type TestServer } from '../server/helpers.js';

// Cheap hashes keep the files quick on a busy machine; the parameters travel with each hash.
const FAST = { N: 1024 };

export const USERS: Record<'admin' | 'viewer', { password: string; roles: string[] }> = {
  admin: { password: 'admin-pw', roles: ['admin'] },
  viewer: { password: 'viewer-pw', roles: ['user'] },
};

export async function usersFile(t: Teardown): Promise<string> {
  const file = path.join(await tempDir(t, 'users'), 'users.yaml');
  const entries = await Promise.all(
    Object.entries(USERS).map(async ([name, u]): Promise<[string, { password: string; roles: string[] }]> => [name, { password: await hashPassword(u.password, FAST), roles: [...u.roles] }]),
  );
  writeUsersFile(file, new Map(entries));
  return file;
}

export interface UiFixture {
  ts: TestServer;
  browser: Browser;
  uiDir: string;
}

/** A job server serving the UI built from the sources, and a browser. */
export async function startUi(t: Teardown, pgs: TestPostgres, overrides: Record<string, unknown> = {}): Promise<UiFixture> {
  const [uiDir, users] = await Promise.all([buildUiAssets(t), usersFile(t)]);
  const ts = await startTestServer(t, pgs, { overrides: { 'ui.dir': uiDir, 'auth.usersFile': users, ...overrides } });
  const browser = await startBrowser(t);
  return { ts, browser, uiDir };
}
