/**
 * PostgreSQL's epoch, 2000-01-01 00:00:00 UTC, in Unix milliseconds
 * (`Date.UTC(2000, 0, 1)`). The replication protocol carries times (a
 * commit's time, the clocks of keepalives and standby status updates) as
 * microseconds since this epoch, not since 1970: add it to go from protocol
 * time to a JavaScript Date, subtract it to go back.
 */
export const PG_EPOCH_MS = 946_684_800_000;
