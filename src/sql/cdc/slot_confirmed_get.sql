-- On the TARGET: the highest position walferry recorded as told to the slot of set $1 (slot_confirmed_record.sql).
-- A set whose CDC last ran before walferry recorded it has no row: then what its last status write said the slot
-- was told (status.source_tail_position, written after telling it). NULL: nothing recorded (a new set).
SELECT coalesce((SELECT confirmed_lsn FROM @SCHEMA@.slot_confirmed WHERE set_name = $1),
                (SELECT source_tail_position FROM @SCHEMA@.status WHERE task_name = $1))::text
