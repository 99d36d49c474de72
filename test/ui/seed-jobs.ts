/**
 * Many jobs at once for the Jobs page tests and the `ui` bench: one job is
 * imported through the API (so its definition is what an import stores), then
 * copied in SQL under other names and groups; an import of 5,000 jobs through
 * the API would take most of a test's time for nothing it checks.
 */
import type pg from 'pg';

/**
 * `count` jobs named `job-0001`...: the first `ungrouped` outside any group,
 * the rest spread over `groups` groups `team-NN/app-M` (two levels).
 */
export async function seedJobs(
  pool: pg.Pool,
  api: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>,
  project: string,
  opts: { count: number; ungrouped: number; groups: number },
): Promise<void> {
  const imported = await api('POST', `/api/v1/projects/${encodeURIComponent(project)}/jobs`, [
    { name: 'seed-template', group: 'seed', sequence: { commands: [{ exec: 'echo seeded' }] } },
  ]);
  if (imported.status !== 201) throw new Error(`seed template import: ${imported.status} ${JSON.stringify(imported.body)}`);
  const templateId: string = imported.body.jobs[0].id;
  await pool.query(
    `with t as (select project_id, definition from tandem.jobs where id = $1),
          s as (select gen_random_uuid()::text as id, 'job-' || lpad(i::text, 4, '0') as name,
                       case when i <= $3 then '' else 'team-' || lpad((i % $4 / 4)::text, 2, '0') || '/app-' || (i % $4 % 4) end as grp
                from generate_series(1, $2::int) i)
     insert into tandem.jobs (id, project_id, group_path, name, definition)
     select s.id, t.project_id, s.grp, s.name,
            (t.definition - 'group') || jsonb_build_object('uuid', s.id, 'name', s.name)
              || case when s.grp = '' then '{}'::jsonb else jsonb_build_object('group', s.grp) end
     from t, s`,
    [templateId, opts.count, opts.ungrouped, opts.groups],
  );
  await pool.query('delete from tandem.jobs where id = $1', [templateId]);
  await pool.query('analyze tandem.jobs');
}
