/**
 * `tandem keys rotate`: re-encrypt Key Storage under a new master key
 * without downtime (procedure in server/keys/README.md).
 */
import pg from 'pg';
import { requireKeys } from '../config/load.js';
import { EXIT_CODES, TandemError } from '../errors.js';
import { Keyring } from '../keys/cipher.js';
import { rotateKeys } from '../keys/rotate.js';
import { describeState, inspectKeyStorage } from '../keys/verify.js';
import type { Command } from './command.js';

export const keysRotateCommand: Command = {
  help: `
Usage: tandem keys rotate [--config FILE] [--database-url URL] [--batch N]

Re-encrypts, in batches of N (default 100) small transactions, every Key
Storage entry that is not encrypted under keyStorage.masterKey, reading it
with one of keyStorage.previousMasterKeys. Servers keep running meanwhile.
Prints progress, then how many entries each master key encrypts. Refuses to
start (and changes nothing) when some entry is under a master key that is not
configured. Run it on the active site; the passive site receives the rows by
replication and needs the same keys in its configuration.

A master key change without downtime (every member, both sites):
  1. add the new key to keyStorage.previousMasterKeys, restart members one by one
  2. make it keyStorage.masterKey and move the old one to previousMasterKeys,
     restart members one by one
  3. tandem keys rotate
  4. remove the old key from previousMasterKeys, restart members one by one

Example:
  TANDEM_KEY_STORAGE_MASTER_KEY_FILE=/etc/tandem/master-key.new \\
  TANDEM_KEY_STORAGE_PREVIOUS_MASTER_KEYS_FILE=/etc/tandem/master-key.old \\
  tandem keys rotate --config /etc/tandem/tandem.yaml
`,
  flags: { batch: { type: 'string' } },
  configFlags: { 'database-url': 'database.url' },
  async run(ctx) {
    const cfg = ctx.config();
    requireKeys(cfg, ['database.url', 'keyStorage.masterKey']);
    const batch = ctx.values.batch === undefined ? 100 : Number(ctx.values.batch);
    if (!Number.isInteger(batch) || batch < 1 || batch > 10_000) throw new TandemError('usage', '--batch: a whole number from 1 to 10000');
    const keyring = Keyring.fromConfig(cfg.keyStorage)!;
    const pool = new pg.Pool({ connectionString: cfg.database.url, max: 1, application_name: 'tandem-keys-rotate' });
    try {
      ctx.out(`rotating key storage to master key ${keyring.currentId}`);
      const n = await rotateKeys(pool, keyring, (done, total) => ctx.out(`re-encrypted ${done} of ${total}`), batch);
      const after = await inspectKeyStorage(pool, keyring);
      ctx.out(`done: ${n} entries re-encrypted; ${describeState(after)}`);
      if (after.byMasterKey.some((c) => !c.current)) {
        ctx.out('some entries are still under an older key (written meanwhile by a member with the old key?): run again');
        return EXIT_CODES.failed;
      }
    } finally {
      await pool.end();
    }
  },
};
