-- On the TARGET, before the slot of set $1 is told that it may forget everything before $2 (a standby status
-- update's flush position): records $2, committed synchronously (the status connection), so that the check at the
-- next session start (slot_confirmed_get.sql) knows walferry itself moved the slot there. Never moves back.
INSERT INTO @SCHEMA@.slot_confirmed (set_name, confirmed_lsn) VALUES ($1, $2::pg_lsn)
ON CONFLICT (set_name) DO UPDATE SET confirmed_lsn = GREATEST(@SCHEMA@.slot_confirmed.confirmed_lsn,
                                                              EXCLUDED.confirmed_lsn), updated_at = now()
