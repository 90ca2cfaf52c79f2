-- $1: set name; $2: its new load state (pending | loading | indexing | loaded | failed).
UPDATE @SCHEMA@.sets SET load_state = $2, updated_at = now() WHERE set_name = $1
