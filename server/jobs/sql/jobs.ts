import type { JobDefinition } from '../definition.js';

/** Row shape of tandem.jobs. */
export interface JobRow {
  id: string;
  projectId: string;
  project: string;
  groupPath: string;
  name: string;
  description: string;
  definition: JobDefinition;
  scheduleEnabled: boolean;
  executionEnabled: boolean;
  multipleExecutions: boolean;
  version: number;
  createdBy: string | null;
  updatedBy: string | null;
  /** Roles of `updatedBy` when they saved it: a scheduled run's rights for job references. */
  updatedByRoles: string[] | null;
  createdAt: Date;
  updatedAt: Date;
}

export const jobColumns = `j.id, j.project_id as "projectId", p.name as project, j.group_path as "groupPath", j.name,
  j.description, j.definition, j.schedule_enabled as "scheduleEnabled", j.execution_enabled as "executionEnabled",
  j.multiple_executions as "multipleExecutions", j.version, j.created_by as "createdBy", j.updated_by as "updatedBy", j.updated_by_roles as "updatedByRoles",
  j.created_at as "createdAt", j.updated_at as "updatedAt"`;
