import type { Db } from '../../../server/db/db.js';

/**
 * Outcome of one copy attempt of the version `sha256` (ignored when the
 * record moved on to a newer version meanwhile: that one stays pending).
 * `done`: copied and verified. `retry`: try again after `delayMs`.
 * `failed`: give up and report (checksum never matched).
 */
export async function finishCopy(
  db: Db,
  o: { key: string; sha256: string; outcome: 'done' | 'retry' | 'failed'; delayMs?: number; error?: string; mismatch?: boolean },
): Promise<void> {
  await db.query({
    name: 'tandem_site.finishCopy',
    text: `update tandem_site.log_object_copies
              set state = case $3::text when 'done' then 'done' when 'failed' then 'failed' else 'pending' end,
                  attempts = attempts + 1,
                  mismatches = mismatches + case when $6 then 1 else 0 end,
                  next_attempt_at = now() + make_interval(secs => $4::double precision / 1000),
                  last_error = $5,
                  copied_at = case $3::text when 'done' then now() else copied_at end,
                  updated_at = now()
            where key = $1 and sha256 = $2`,
    values: [o.key, o.sha256, o.outcome, o.delayMs ?? 0, o.error ?? null, o.mismatch ?? false],
  });
}
