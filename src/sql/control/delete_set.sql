-- Forgets replication set $1 (its slot and publication were dropped on the source).
DELETE FROM @SCHEMA@.sets WHERE set_name = $1
