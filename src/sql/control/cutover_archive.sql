-- On the TARGET (or the old source, for the switch back's row): moves the cutover row into cutover_history, whole.
-- $1: the command archiving it, for people. Run in one transaction with nothing else; no row: nothing happens.
WITH gone AS (DELETE FROM @SCHEMA@.cutover c RETURNING to_jsonb(c) AS row)
INSERT INTO @SCHEMA@.cutover_history (archived_by, row) SELECT $1, row FROM gone
