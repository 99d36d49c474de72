/**
 * Loads the access-control policies: every `*.aclpolicy` file of
 * `auth.aclDir`, or the embedded default when no directory is configured.
 * A bad file stops start-up with a message pointing at its line: running
 * with half a policy would silently change who may do what.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { TandemError } from '../../errors.js';
import { DEFAULT_POLICY, DEFAULT_POLICY_FILE } from './default-policy.js';
import { PolicySet } from './evaluate.js';
import { parseAclOrThrow } from './parse.js';
import type { CompiledPolicy } from './types.js';

export function loadPolicies(aclDir: string | undefined): PolicySet {
  if (!aclDir) return new PolicySet(parseAclOrThrow(DEFAULT_POLICY, DEFAULT_POLICY_FILE));
  let files: string[];
  try {
    files = readdirSync(aclDir).filter((f) => f.endsWith('.aclpolicy')).sort();
  } catch (e) {
    throw new TandemError('invalid_config', `auth.aclDir: cannot read ${aclDir}: ${(e as Error).message}`, { field: 'auth.aclDir' });
  }
  if (!files.length) throw new TandemError('invalid_config', `auth.aclDir: no *.aclpolicy file in ${aclDir}`, { field: 'auth.aclDir' });
  const all: CompiledPolicy[] = [];
  for (const f of files) {
    const file = path.join(aclDir, f);
    all.push(...parseAclOrThrow(readFileSync(file, 'utf8'), file));
  }
  return new PolicySet(all);
}
