-- On the TARGET: every slot and publication name this control schema's migration recorded (source_objects), with
-- the sets' own (a control schema made before source_objects, not yet ensured by this version). Read-only.
SELECT name FROM @SCHEMA@.source_objects
UNION
SELECT slot_name FROM @SCHEMA@.sets
UNION
SELECT publication_name FROM @SCHEMA@.sets
