/**
 * Who may make a job run another job. A job reference (`jobref` step) runs
 * the referenced job's steps with that job's secure defaults, so it needs
 * `run` on the referenced job for the user who started the execution, in
 * whatever project that job lives. Checked twice:
 *
 *  - at import (and PUT), for a clear error where the job is written:
 *    `checkImportedJobRefs`;
 *  - at run time, for every reference as it starts, with the rights the
 *    execution was started with (`executions.user_roles`; for a schedule,
 *    the roles of the job's last author), against the policies loaded now:
 *    `referencedJobFor`.
 *
 * A reference into a project (or to a job) the user may not read is answered
 * exactly as a reference to nothing: at run time "referenced job X not
 * found"; at import a uuid that resolves to such a job is accepted like one
 * that does not exist yet (it is refused when it runs). Only a reference that
 * *names* a project the user may not read is refused at import, which says
 * nothing the document does not already say.
 */
import type { PolicySet } from '../auth/acl/evaluate.js';
import type { Subject } from '../auth/acl/types.js';
import { TandemError } from '../errors.js';
import type { JobDefinition, Step } from '../jobs/definition.js';
import type { Db } from '../db/db.js';
import { getJob } from '../jobs/sql/get-job.js';
import { getJobByName } from '../jobs/sql/get-job-by-name.js';
import type { JobRow } from '../jobs/sql/jobs.js';

export type JobRef = Extract<Step, { kind: 'jobref' }>['ref'];

/** The policies and the user whose rights a check uses. */
export interface RefAccess {
  policies: PolicySet;
  subject: Subject;
}

type Verdict = 'allowed' | 'hidden' | 'no-run';

function verdict(a: RefAccess, target: { project: string; name: string; group: string }): Verdict {
  if (!a.policies.decide(a.subject, 'read', { type: 'project', project: target.project }).allowed) return 'hidden';
  const job = { project: target.project, job: target.group ? { name: target.name, group: target.group } : { name: target.name } };
  if (!a.policies.decide(a.subject, 'read', { type: 'job', ...job }).allowed) return 'hidden';
  if (!a.policies.decide(a.subject, 'run', { type: 'job', ...job }).allowed) return 'no-run';
  return 'allowed';
}

function title(j: { project: string; name: string; group: string }): string {
  return `${j.project}/${j.group ? j.group + '/' : ''}${j.name}`;
}

/** The job a reference names, as stored now (by uuid, else by project + group + name). */
export async function lookUpJobRef(db: Db, ref: JobRef, ownProject: string): Promise<JobRow | null> {
  return ref.uuid ? getJob(db, ref.uuid) : getJobByName(db, ref.project ?? ownProject, ref.group ?? '', ref.name ?? '');
}

/**
 * Run time: the referenced job when the execution's user may run it; null
 * when it does not exist *or* the user may not read it (the caller answers
 * "not found" for both); a `forbidden` error when they may read but not run it.
 */
export async function referencedJobFor(db: Db, a: RefAccess, ref: JobRef, ownProject: string): Promise<JobRow | null> {
  const job = await lookUpJobRef(db, ref, ownProject);
  if (!job) return null;
  const target = { project: job.project, name: job.name, group: job.groupPath };
  const v = verdict(a, target);
  if (v === 'hidden') return null;
  if (v === 'no-run') throw new TandemError('forbidden', `${a.subject.user || 'the execution\'s user'} may not run the referenced job ${title(target)}`);
  return job;
}

/**
 * Import: refuse (403, naming the step) a job whose references the importing
 * user may not use. References to jobs of the same document are checked
 * against the document (they may not exist yet); references to nothing are
 * accepted as before (they fail when they run).
 */
export async function checkImportedJobRefs(db: Db, a: RefAccess, project: string, jobs: JobDefinition[], fieldPrefix: (i: number) => string): Promise<void> {
  for (let i = 0; i < jobs.length; i++) {
    const steps = jobs[i]!.sequence.steps;
    for (let s = 0; s < steps.length; s++) {
      const step = steps[s]!;
      if (step.kind !== 'jobref') continue;
      const field = `${fieldPrefix(i)}.sequence.commands[${s}].jobref`;
      const ref = step.ref;
      if (ref.project !== undefined && ref.project !== project && !a.policies.decide(a.subject, 'read', { type: 'project', project: ref.project }).allowed) {
        throw new TandemError('forbidden', `job reference into project ${ref.project}: you may not read that project`, { field: `${field}.project` });
      }
      const inDocument = jobs.find((j) =>
        ref.uuid ? j.uuid === ref.uuid : (ref.project ?? project) === project && (j.group ?? '') === (ref.group ?? '') && j.name === ref.name,
      );
      const target = inDocument
        ? { project, name: inDocument.name, group: inDocument.group ?? '' }
        : await lookUpJobRef(db, ref, project).then((j) => (j ? { project: j.project, name: j.name, group: j.groupPath } : null));
      if (!target) continue;
      // 'hidden': answered like a job that does not exist (accepted here, refused when it runs): nothing is revealed.
      if (verdict(a, target) === 'no-run') {
        throw new TandemError('forbidden', `you may not run the referenced job ${title(target)}, so no job you save may run it`, { field });
      }
    }
  }
}
