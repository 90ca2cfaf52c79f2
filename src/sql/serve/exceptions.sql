-- walferry serve: the newest apply exceptions, with their statements, for the status page. @SCHEMA@: the control
-- schema. $1: how many.
SELECT task_name, table_owner, table_name, error_time::text, statement, error
FROM @SCHEMA@.apply_exceptions ORDER BY id DESC LIMIT $1::int
