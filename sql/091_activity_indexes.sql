-- Activity page (web UI, issue 14): a project's executions filtered by status, job, user and a
-- time window, newest first, 20 a page, with a count capped at 10,001 (server/http/routes/executions.ts).
--
-- Plans seen with 1,000,000 executions of one project (test/bench/ui-exec-explain.ts: 200 job
-- names, 50 users, 0.1 % aborted, 5 % failed, one run every 30 s over ~350 days) BEFORE these indexes,
-- only executions_project_created (project_id, created_at desc) existing:
--   no filter         page: Index Scan executions_project_created, 0.2 ms;   count: Seq Scan stopping at 10,001, 8 ms
--   status=aborted    page: same index, Filter removes 20,916 rows, 33 ms;  count: Parallel Seq Scan of all, 329 ms
--   status=failed     page: 0.4 ms;                                          count: Seq Scan, 104 ms
--   user=user-7       page: 0.7 ms;                                          count: Parallel Seq Scan, 279 ms
--   job name contains page: 0.4 ms;                                          count: Seq Scan, 398 ms
--   1-day window 200 days back (coalesce(ended_at, created_at) between): page walks the index newest first,
--                     Filter removes 573,116 rows, 1,388 ms;                 count: Parallel Seq Scan, 513 ms
--   status=aborted and user: Parallel Seq Scan + sort, 341 ms;               count 432 ms
-- Each filter gets an index led by the project and the filtered column, ending in created_at desc so a
-- page reads its 20 rows in order; the window gets an expression index on the exact expression the
-- query filters on. Plans AFTER: see server/README.md (Activity).
-- Plain (not CONCURRENTLY) because migrations run in a transaction: on a large existing table this
-- migration holds a write lock on tandem.executions while the indexes build (about a minute per
-- million rows on a small machine).
create index executions_project_status_created on tandem.executions (project_id, status, created_at desc);
create index executions_project_user_created on tandem.executions (project_id, user_name, created_at desc);
create index executions_project_job_name_created on tandem.executions (project_id, job_name, created_at desc);
create index executions_project_window on tandem.executions (project_id, (coalesce(ended_at, created_at)));
