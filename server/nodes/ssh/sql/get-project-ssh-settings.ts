import type { Db } from '../../../db/db.js';

/** A project's SSH settings by project name ({} when none are set or the project does not exist). */
export async function getProjectSshSettings(db: Db, project: string): Promise<Record<string, string>> {
  const { rows } = await db.query<{ settings: Record<string, string> }>({
    name: 'tandem.ssh.getProjectSshSettings',
    text: `select s.settings from tandem.project_ssh_settings s join tandem.projects p on p.id = s.project_id where p.name = $1::text`,
    values: [project],
  });
  return rows[0]?.settings ?? {};
}
