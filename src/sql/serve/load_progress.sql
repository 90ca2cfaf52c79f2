-- walferry serve: the load's progress per table (the parts of a split table summed). @SCHEMA@: the control schema.
-- state: copied when every part is, failed when one is, copying when one is under way, else pending.
SELECT set_name, table_schema, table_name,
       CASE WHEN bool_and(state = 'copied') THEN 'copied' WHEN bool_or(state = 'failed') THEN 'failed'
            WHEN bool_or(state IN ('copying', 'copied')) THEN 'copying' ELSE 'pending' END AS state,
       sum(rows_copied)::bigint, sum(bytes_copied)::bigint, max(parts), count(*) FILTER (WHERE state = 'copied'),
       COALESCE(sum(copy_seconds), 0)::float8
FROM @SCHEMA@.load_progress
GROUP BY set_name, table_schema, table_name
ORDER BY set_name, table_schema, table_name
