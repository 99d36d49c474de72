/**
 * Default names. The slot is named after the target site, so that each
 * passive site has its own slot on the source (several passive sites stay
 * independent) and a restarted replicator finds its slot again.
 */
export function defaultSlotName(targetUrl: string, site?: string): string {
  let base = site;
  if (!base) {
    const u = new URL(targetUrl);
    base = `${u.hostname}_${u.port || '5432'}_${decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres'}`;
  }
  const clean = ('tandem_' + base.toLowerCase().replace(/[^a-z0-9_]/g, '_')).slice(0, 63);
  return clean;
}

/** Slot names PostgreSQL accepts: lower-case letters, digits and underscores, at most 63. */
export function validSlotName(name: string): boolean {
  return /^[a-z0-9_]{1,63}$/.test(name);
}
