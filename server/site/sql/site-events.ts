import type { Db } from '../../db/db.js';

export type SiteEventKind = 'drain_point' | 'promoted' | 'forced_promoted';

/** Insert a replicated site event; returns its id. */
export async function insertSiteEvent(db: Db, e: { id?: string; kind: SiteEventKind; site: string; epoch: number; details?: Record<string, unknown> }): Promise<string> {
  const { rows } = await db.query<{ id: string }>({
    name: 'tandem.insertSiteEvent',
    text: `insert into tandem.site_events (id, kind, site, epoch, details) values (coalesce($1::uuid, gen_random_uuid()), $2, $3, $4, $5)
           on conflict (id) do update set kind = excluded.kind returning id`,
    values: [e.id ?? null, e.kind, e.site, e.epoch, JSON.stringify(e.details ?? {})],
  });
  return rows[0]!.id;
}

export async function siteEventExists(db: Db, id: string): Promise<boolean> {
  const { rows } = await db.query({ name: 'tandem.siteEventExists', text: 'select 1 from tandem.site_events where id = $1', values: [id] });
  return rows.length > 0;
}
