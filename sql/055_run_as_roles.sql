-- Whose rights an execution runs with (issue 18, job references): the roles
-- of the user who started it, as they were when it was started, so that the
-- engine can check `run` on every job the execution references (policies may
-- have changed since the job was saved: the check is made again at run time).
-- A scheduled execution runs with the rights of the user who last saved the
-- job (as Rundeck does with a job's stored user roles), kept on the job.
-- Null: not known (rows written before this migration): only policies that
-- name the user themselves apply.
alter table tandem.executions add column user_roles text[];
alter table tandem.jobs add column updated_by_roles text[];
