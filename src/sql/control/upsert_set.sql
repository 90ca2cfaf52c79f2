-- Records a replication set. $1 set name, $2 slot, $3 publication, $4 exported snapshot (or NULL), $5 CDC start LSN
-- (or NULL), $6 load state (pending | loading | indexing | loaded | failed), $7 loaded by other means.
INSERT INTO @SCHEMA@.sets (set_name, slot_name, publication_name, snapshot_name, start_lsn, load_state, external_load)
VALUES ($1, $2, $3, $4, $5::pg_lsn, $6, $7::boolean)
ON CONFLICT (set_name) DO UPDATE SET
  slot_name = EXCLUDED.slot_name, publication_name = EXCLUDED.publication_name,
  snapshot_name = EXCLUDED.snapshot_name, start_lsn = EXCLUDED.start_lsn,
  load_state = EXCLUDED.load_state, external_load = EXCLUDED.external_load, updated_at = now()
