-- Taken (inside the transaction running control/schema) so that concurrent first runs, e.g. several sets starting
-- at once, do not race on CREATE TABLE IF NOT EXISTS.
SELECT pg_advisory_xact_lock(hashtext('walferry control schema'))
