-- walferry serve: walferry cutover's progress. downtime: from the moment writes stopped on the source until the
-- target was ready (until now while the switch is under way). @SCHEMA@: the control schema.
SELECT step, extract(epoch FROM COALESCE(ready_at, finished_at, now()) - writes_stopped_at)::float8
FROM @SCHEMA@.cutover
