/**
 * `tandem config check` item `key storage`: the configured master key(s)
 * decrypt every master key id found in tandem.storage_keys.
 */
import pg from 'pg';
import type { Config } from '../../config/schema.js';
import { Keyring } from '../../keys/cipher.js';
import { describeState, inspectKeyStorage } from '../../keys/verify.js';
import { type Check, within } from './result.js';

export function keyStorageChecks(cfg: Config, timeoutMs: number): Check[] {
  return [
    {
      item: 'key storage',
      run: async () => {
        if (!cfg.database.url) return { skip: 'no database.url' };
        const keyring = Keyring.fromConfig(cfg.keyStorage);
        const client = new pg.Client({ connectionString: cfg.database.url, connectionTimeoutMillis: timeoutMs, application_name: 'tandem-config-check' });
        client.on('error', () => {});
        try {
          try {
            await within(timeoutMs, 'database', client.connect());
          } catch {
            // The `database` item reports why (wrong password, refused, timeout): one failure, named once.
            return { skip: 'the database cannot be reached (see the database item)' };
          }
          const exists = await client.query<{ t: string | null }>({ name: 'tandem.configCheck.keysTable', text: `select to_regclass('tandem.storage_keys')::text as t` });
          if (!exists.rows[0]?.t) return { skip: 'the database has no key storage table yet (tandem migrate)' };
          const state = await within(timeoutMs, 'key storage', inspectKeyStorage(client, keyring));
          if (state.problems.length) throw new Error(state.problems.join('; '));
          if (!keyring) return { skip: 'keyStorage.masterKey is not set and nothing is stored' };
          return `master key ${keyring.currentId} configured; ${describeState(state)}`;
        } finally {
          await client.end().catch(() => {});
        }
      },
    },
  ];
}
