/**
 * ACL policy fixtures for tests that start a job server with `auth.aclDir`.
 * Such a directory replaces the embedded default policy, so without an admin
 * policy in it the admin token of `startTestServer` (role `admin`) could do
 * nothing and every test's set-up would fail. The policies a test is about
 * (the roles it checks) stay in that test, next to its asserts.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir, type Teardown } from './tmp.js';

/**
 * Role `admin` may do everything, in every project and at application level
 * (as in the embedded default policy), so that a test's set-up never fails on
 * a right it forgot.
 */
export const ADMIN_POLICY = `
description: Admins everywhere.
context:
  project: '.*'
for:
  job: [{ allow: '*' }]
  execution: [{ allow: '*' }]
  node: [{ allow: '*' }]
by:
  group: admin
---
description: Admins at application level.
context:
  application: tandem
for:
  project: [{ allow: '*' }]
  system: [{ allow: '*' }]
  token: [{ allow: '*' }]
  audit: [{ allow: '*' }]
  storage: [{ allow: '*' }]
by:
  group: admin
`;

/** A new directory (removed at teardown) for `auth.aclDir`, holding `policies` as the documents of one policy file. */
export async function aclDir(t: Teardown, ...policies: string[]): Promise<string> {
  const dir = await tempDir(t, 'acl');
  await writeFile(path.join(dir, 'policy.aclpolicy'), policies.join('\n---\n'));
  return dir;
}
