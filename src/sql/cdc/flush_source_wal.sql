-- On the SOURCE, before a stop position is read (cdc/stop_position.h) or a slot is peeked: a transaction with an xid
-- that writes one WAL record of its own and commits synchronously (locally), so its commit flushes the WAL through
-- every record inserted before it, asynchronous commits included. A commit that wrote no WAL of its own (an xid from
-- txid_current() alone) is asynchronous whatever synchronous_commit says, and flushes nothing. The record is an
-- empty NON-transactional logical message: the transaction itself has no change to decode, so no slot outputs it,
-- and pgoutput passes the message only to readers that ask for messages (walferry skips this prefix). READ WRITE:
-- the cutover reads its final position after making the database read-only for new sessions. Both functions are
-- PUBLIC.
BEGIN READ WRITE;
SET LOCAL synchronous_commit = local;
SELECT txid_current();
SELECT pg_catalog.pg_logical_emit_message(false, 'walferry.flush', '');
COMMIT
