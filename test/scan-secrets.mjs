// Searches the logs a full test run wrote (TANDEM_TEST_LOG_DIR, one JSONL file
// per test process, every level down to debug) for secrets the tests used:
// the LDAP and database fixture passwords (all named "...-fixture-pw..."), the
// secure option values of the fixtures, local users' passwords and API tokens
// ("tdm_" + 43 base64url characters), Key Storage secrets and private keys
// (server/keys/). A secret in a log is readable by everyone who reads logs: none may appear.
// Prints what it searched and every hit (file:line and the secret's kind,
// never the line itself), and exits 1 on any hit or when there are no logs.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node test/scan-secrets.mjs LOG_DIR');
  process.exit(2);
}
const secrets = [
  ['fixture password', /[\w\u00c0-\u024f]+-fixture-pw[\w\u00c0-\u024f-]*/],
  ['secure option value', /secure-option-fixture|hunter2/],
  ['local user password', /dora-pw/],
  ['API token', /tdm_[A-Za-z0-9_-]{43}/],
  // Key Storage and SSH tests (test/keys/fixtures.ts): passwords and passphrases, the master keys (base64 and hex of
  // "tandem-test-master-key-fixture-N"), and any private key's armour or body line.
  ['key storage password', /keystore-fixture-secret/],
  ['key storage master key', /dGFuZGVtLXRlc3QtbWFzdGVyLWtleS1maXh0dXJl|74616e64656d2d746573742d6d61737465722d6b65792d666978747572652d|tandem-test-master-key-fixture/],
  ['private key', /-----BEGIN [A-Z ]*PRIVATE KEY-----|b3BlbnNzaC1rZXktdjE/],
];

let files;
try {
  files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
} catch (e) {
  console.error(`secret scan: cannot read ${dir}: ${e.message}`);
  process.exit(1);
}
let lines = 0;
const hits = [];
for (const f of files) {
  const text = readFileSync(join(dir, f), 'utf8');
  text.split('\n').forEach((line, i) => {
    if (!line) return;
    lines++;
    for (const [kind, re] of secrets) if (re.test(line)) hits.push(`${f}:${i + 1}: ${kind}`);
  });
}
console.log(`secret scan: ${lines} log lines in ${files.length} files searched for ${secrets.map(([k]) => k).join(', ')}`);
for (const h of hits.slice(0, 50)) console.log(`  secret in a log line: ${h}`);
if (files.length === 0 || lines === 0) {
  console.log('secret scan: failed (no log lines to search: was TANDEM_TEST_LOG_DIR set for the test run?)');
  process.exit(1);
}
if (hits.length) {
  console.log(`secret scan: failed (${hits.length} lines)`);
  process.exit(1);
}
console.log('secret scan: ok');
