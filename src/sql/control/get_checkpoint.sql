-- The CDC checkpoint of set $1: the END LSN of the last source transaction applied
-- (the position just past its commit record; docs/design/resume.md, Positions). No row before the first.
SELECT applied_lsn::text FROM @SCHEMA@.checkpoint WHERE set_name = $1
