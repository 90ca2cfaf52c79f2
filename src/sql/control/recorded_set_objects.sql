-- On the TARGET: the slot and publication names of the sets' rows, for a control schema made before
-- source_objects (recorded_source_objects.sql). Read-only.
SELECT slot_name FROM @SCHEMA@.sets
UNION
SELECT publication_name FROM @SCHEMA@.sets
