-- On the SOURCE, before a stop position is read (cdc/stop_position.h): an empty transaction with an xid, committed
-- synchronously (locally), so its commit flushes the WAL through every record inserted before it. READ WRITE: the
-- cutover reads its final position after making the database read-only for new sessions.
BEGIN READ WRITE;
SET LOCAL synchronous_commit = local;
SELECT txid_current();
COMMIT
