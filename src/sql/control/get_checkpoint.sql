-- The CDC checkpoint of set $1: the commit LSN of the last source transaction applied. No row before the first.
SELECT applied_lsn::text FROM @SCHEMA@.checkpoint WHERE set_name = $1
