-- On the TARGET: what walferry cutover records when it stops writes (control/cutover_row.h), after the row was
-- written: $1 the options of the first run ("fallback keep_slots"), $2 the sets' generation (sets_generation.sql).
UPDATE @SCHEMA@.cutover SET options = $1, sets_generation = $2
