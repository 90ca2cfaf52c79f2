-- walferry serve: every set of the control schema (target) with its load state, also those without a status row
-- yet (loading). @SCHEMA@: the control schema.
SELECT set_name, load_state, slot_name FROM @SCHEMA@.sets ORDER BY set_name
