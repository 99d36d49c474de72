import { hostname, userInfo } from 'node:os';

const text = `
insert into tandem_site.replication_skips (slot_name, commit_lsn, xid, changes, last_error, pid, host, os_user)
values ($1, $2::pg_lsn, $3::bigint, $4::bigint,
        (select s.last_error from tandem_site.replication_state s where s.slot_name = $1 and s.last_error->>'commitLsn' = $2::text),
        $5::integer, $6::text, $7::text)`;

function osUser(): string | null {
  try {
    return userInfo().username;
  } catch {
    return null; // no passwd entry for the uid (some containers): the pid and host still say who
  }
}

/**
 * The audit row of a source transaction skipped at the operator's request
 * (`tandem replicate --skip-transaction`), for the applier's pipeline: it
 * commits with the progress record that moves past the transaction, so the
 * skip and its record cannot be separated. It keeps the error the replicator
 * had stopped on when that error named this transaction.
 */
export function recordSkipStatement(slot: string, commitLsn: string, xid: number, changes: number): { name: string; text: string; values: (string | null)[] } {
  return {
    name: 'tandem_site.recordReplicationSkip',
    text,
    values: [slot, commitLsn, String(xid), String(changes), String(process.pid), hostname(), osUser()],
  };
}
