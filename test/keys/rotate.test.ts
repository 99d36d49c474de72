// Master key rotation and `tandem config check` on Key Storage, through the built CLI (npx tsc -p tsconfig.json first).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from '../../server/db/migrate.js';
import { Keyring, masterKeyId, parseMasterKey } from '../../server/keys/cipher.js';
import { KeyStorage } from '../../server/keys/key-storage.js';
import { startPostgres } from '../harness/postgres.js';
import { testPool } from '../harness/pool.js';
import { tempDir } from '../harness/tmp.js';
import { MASTER_KEY_1, MASTER_KEY_2, PASSWORD } from './fixtures.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pgs = await startPostgres(t, { name: 'keys-rotate' });
const dbUrl = await pgs.createDatabase('rotate');
await migrate(dbUrl);
const pool = testPool(t, { connectionString: dbUrl, max: 2 });
const dir = await tempDir(t, 'keys-rotate');
const k1 = parseMasterKey(MASTER_KEY_1);
const k2 = parseMasterKey(MASTER_KEY_2);
const id1 = masterKeyId(k1);
const id2 = masterKeyId(k2);
writeFileSync(path.join(dir, 'new.key'), MASTER_KEY_2 + '\n', { mode: 0o600 });
writeFileSync(path.join(dir, 'old.key'), MASTER_KEY_1 + '\n', { mode: 0o600 });

const tandem = (args: string[], env: NodeJS.ProcessEnv) =>
  spawnSync(process.execPath, [path.join(root, 'bin/tandem.js'), ...args], {
    encoding: 'utf8',
    cwd: dir,
    env: { PATH: process.env.PATH, TANDEM_DATABASE_URL: dbUrl, TANDEM_LOGS_DIR: dir, ...env },
  });
const keyLine = (out: string) => out.split('\n').find((l) => / key storage /.test(l)) ?? `(no key storage line in: ${out})`;

const old = new KeyStorage({ pool, keyring: new Keyring(k1) });
const paths = ['keys/project/ops/a.password', 'keys/project/ops/b.password', 'keys/project/web/c.password'];
for (const p of paths) await old.create(p, 'application/x-rundeck-data-password', Buffer.from(`${PASSWORD}-${p}`), 'test');

t.test('config check: the configured key decrypts the stored keys, or says which key is missing', async (t) => {
  const ok = tandem(['config', 'check'], { TANDEM_KEY_STORAGE_MASTER_KEY_FILE: path.join(dir, 'old.key') });
  t.match(keyLine(ok.stdout), new RegExp(`^ok\\s+key storage\\s+master key ${id1} configured; 3 entries: 3 under ${id1} \\(current\\)`));
  const wrong = tandem(['config', 'check'], { TANDEM_KEY_STORAGE_MASTER_KEY_FILE: path.join(dir, 'new.key') });
  t.equal(wrong.status, 1);
  t.match(keyLine(wrong.stdout), new RegExp(`^FAIL\\s+key storage\\s+3 entries are encrypted under master key ${id1}, which is neither keyStorage.masterKey \\(${id2}\\)`));
  const none = tandem(['config', 'check'], {});
  t.match(keyLine(none.stdout), /^FAIL\s+key storage\s+3 key storage entries are stored but keyStorage.masterKey is not set/);
  for (const r of [ok, wrong, none]) t.notMatch(r.stdout + r.stderr, /tandem-test-master-key|dGFuZGVt|keystore-fixture/, 'no secret printed');
});

t.test('keys rotate re-encrypts under the new key; servers with both keys read throughout', async (t) => {
  const both = new KeyStorage({ pool, keyring: new Keyring(k2, [k1]) });
  const refused = tandem(['keys', 'rotate'], { TANDEM_KEY_STORAGE_MASTER_KEY_FILE: path.join(dir, 'new.key') });
  t.not(refused.status, 0, 'without the old key it refuses');
  t.match(refused.stderr, new RegExp(`cannot rotate: 3 entries are encrypted under master key ${id1}`));
  t.same((await pool.query('select distinct master_key_id from tandem.storage_keys')).rows, [{ master_key_id: id1 }], 'nothing changed');

  // A member already on the new key writes under it before the rotation (step 2 of the procedure).
  await both.create('keys/project/ops/d.password', 'application/x-rundeck-data-password', Buffer.from(`${PASSWORD}-d`), 'test');
  for (const p of paths) t.equal((await both.secret(p, ['password'])).toString(), `${PASSWORD}-${p}`, 'old rows readable with the previous key');

  const r = tandem(['keys', 'rotate', '--batch', '2'], {
    TANDEM_KEY_STORAGE_MASTER_KEY_FILE: path.join(dir, 'new.key'),
    TANDEM_KEY_STORAGE_PREVIOUS_MASTER_KEYS_FILE: path.join(dir, 'old.key'),
  });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /re-encrypted 0 of 3\nre-encrypted 2 of 3\nre-encrypted 3 of 3\n/);
  t.match(r.stdout, new RegExp(`done: 3 entries re-encrypted; 4 entries: 4 under ${id2} \\(current\\)`));
  t.notMatch(r.stdout + r.stderr, /tandem-test-master-key|dGFuZGVt|keystore-fixture/);

  const onlyNew = new KeyStorage({ pool, keyring: new Keyring(k2) });
  for (const p of paths) t.equal((await onlyNew.secret(p, ['password'])).toString(), `${PASSWORD}-${p}`, `${p} under the new key alone`);
  await t.rejects(old.secret(paths[0]!, ['password']), /encrypted under master key .* which is not configured/, 'the old key alone no longer reads');
  const check = tandem(['config', 'check'], { TANDEM_KEY_STORAGE_MASTER_KEY_FILE: path.join(dir, 'new.key') });
  t.match(keyLine(check.stdout), /^ok\s+key storage/);
});

t.test('a tampered row does not decrypt', async (t) => {
  await pool.query(`update tandem.storage_keys set ciphertext = ciphertext || '\\x00'::bytea where path = $1`, [paths[1]]);
  const ks = new KeyStorage({ pool, keyring: new Keyring(k2) });
  await t.rejects(ks.secret(paths[1]!, ['password']), /does not decrypt under master key .*: the row was altered/);
  // The ciphertext of one path copied onto another does not decrypt either (the path is authenticated).
  await pool.query(`update tandem.storage_keys d set iv = s.iv, ciphertext = s.ciphertext, auth_tag = s.auth_tag from tandem.storage_keys s where s.path = $1 and d.path = $2`, [paths[0], paths[2]]);
  await t.rejects(ks.secret(paths[2]!, ['password']), /the row was altered/);
});
