import type { Db } from '../../../db/db.js';

/** Replace a project's SSH settings. */
export async function putProjectSshSettings(db: Db, projectId: string, settings: Record<string, string>, user: string): Promise<void> {
  await db.query({
    name: 'tandem.ssh.putProjectSshSettings',
    text: `insert into tandem.project_ssh_settings (project_id, settings, updated_by) values ($1::uuid, $2::jsonb, $3::text)
           on conflict (project_id) do update set settings = excluded.settings, updated_by = excluded.updated_by, updated_at = now()`,
    values: [projectId, JSON.stringify(settings), user],
  });
}
