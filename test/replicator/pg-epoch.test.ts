import t from 'tap';
import { PG_EPOCH_MS } from '../../replicator/pg-epoch.js';
import { dateToPgMicros } from '../../replicator/stream/pgoutput.js';
import { microsToTimestamp } from '../../replicator/apply/group.js';

t.test('the PostgreSQL epoch is 2000-01-01 UTC', async (t) => {
  t.equal(PG_EPOCH_MS, Date.UTC(2000, 0, 1));
  t.equal(dateToPgMicros(Date.UTC(2000, 0, 1)), 0n, 'protocol time 0 is the epoch');
  t.equal(microsToTimestamp(1_500), '2000-01-01T00:00:00.001500+00', 'and back, to the microsecond');
  t.equal(microsToTimestamp(849_398_400_123_456), '2026-12-01T00:00:00.123456+00', 'a time of today');
  t.equal(microsToTimestamp(-1), '1999-12-31T23:59:59.999999+00', 'and one before the epoch');
});
