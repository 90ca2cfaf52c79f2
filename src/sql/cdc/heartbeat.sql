-- cdc.heartbeat_seconds: writes a small non-transactional logical message into the source WAL of the set's
-- database, so an idle set's walsender decodes past it and the slot can be confirmed beyond it (pgoutput does not
-- send it: walferry does not ask for messages). $1: the set name.
SELECT pg_logical_emit_message(false, 'walferry_heartbeat', $1)::text
