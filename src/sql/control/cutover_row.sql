-- On the TARGET: walferry cutover's row (control/cutover_row.h), with the downtime so far. No row: no cutover of the
-- current set generation was ever started.
SELECT step, source_database, final_lsn::text, coalesce(sets_generation, ''), options,
       extract(epoch FROM coalesce(ready_at, now()) - writes_stopped_at)::float8, finished_at::text
FROM @SCHEMA@.cutover
