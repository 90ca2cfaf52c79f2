-- A replication set's row. $1: set name.
SELECT set_name, slot_name, publication_name, snapshot_name, start_lsn::text, load_state, external_load
FROM @SCHEMA@.sets WHERE set_name = $1
