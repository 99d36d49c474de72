/** The log object key of an execution, from the `logs.pathTemplate` setting (`${project}/${executionId}.log`). */
export function logKeyFor(template: string, e: { id: string; project: string; jobId?: string | null }): string {
  return template
    .replace(/\$\{project\}/g, e.project)
    .replace(/\$\{executionId\}/g, e.id)
    .replace(/\$\{jobId\}/g, e.jobId ?? 'adhoc');
}
