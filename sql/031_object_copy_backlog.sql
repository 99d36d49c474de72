-- The contract between log object replication and the failover command
-- (replicator/failover/backlog.ts): a planned switchover waits until this
-- relation is empty on the target site. Pending and failed copies both count:
-- a failed copy (checksum never matched) is a log the target does not have,
-- and must be resolved by an operator before a zero-loss switchover.
create view tandem_site.object_copy_backlog as
  select key, execution_id, state, requested_at, attempts, last_error
  from tandem_site.log_object_copies
  where state <> 'done';
