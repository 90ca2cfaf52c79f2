-- The confirmed position of a logical slot no process is reading (on the source): where an unread slot starts.
-- $1 slot name. No row when the slot does not exist or is active; NULL when it has no confirmed position.
SELECT confirmed_flush_lsn::text
  FROM pg_catalog.pg_replication_slots
 WHERE slot_name = $1 AND NOT active
