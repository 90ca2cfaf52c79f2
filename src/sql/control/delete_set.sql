-- Forgets replication set $1 entirely (its slot and publication were dropped): its row, its CDC checkpoint, its
-- status row and its suspended tables, so a set of that name created later starts from nothing.
WITH set_row AS (DELETE FROM @SCHEMA@.sets WHERE set_name = $1),
     checkpoint_row AS (DELETE FROM @SCHEMA@.checkpoint WHERE set_name = $1),
     status_row AS (DELETE FROM @SCHEMA@.status WHERE task_name = $1)
DELETE FROM @SCHEMA@.suspended_tables WHERE task_name = $1
