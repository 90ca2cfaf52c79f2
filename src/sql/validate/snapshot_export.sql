-- Run as the FIRST statement of a REPEATABLE READ transaction on the source: the transaction's snapshot is taken as
-- this statement starts, so every commit the snapshot sees lies before the insert position read here. Workers
-- import the snapshot (SET TRANSACTION SNAPSHOT) so all of them read the same state.
SELECT pg_export_snapshot(), pg_current_wal_insert_lsn()::text;
