/** Site state as stored in `tandem_site.site` (sql/040_sites.sql). */
import type { SiteRole } from './roles.js';

export type { SiteRole } from './roles.js';

export interface SiteRow {
  name: string;
  role: SiteRole;
  /** Only grows; a promotion takes one above every epoch this site has seen. */
  epoch: number;
  activeSite: string | null;
  activeUrl: string | null;
  reason: string | null;
  updatedAt: Date;
}

export const SITE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
