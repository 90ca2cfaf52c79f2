-- On the SOURCE, before a stop position is read (cdc/stop_position.h) or a slot is peeked: a transaction that
-- writes one WAL record of its own and commits synchronously (locally), so its commit flushes the WAL through every
-- record inserted before it, asynchronous commits included. The record is an empty transactional logical message:
-- a commit that wrote no WAL of its own (an xid from txid_current() alone) is asynchronous whatever
-- synchronous_commit says, and flushes nothing. Slots of the database decode the message; walferry's reader skips
-- this prefix, pgoutput sends messages only to readers that ask for them. READ WRITE: the cutover reads its final
-- position after making the database read-only for new sessions. pg_logical_emit_message is PUBLIC.
BEGIN READ WRITE;
SET LOCAL synchronous_commit = local;
SELECT pg_catalog.pg_logical_emit_message(true, 'walferry.flush', '');
COMMIT
