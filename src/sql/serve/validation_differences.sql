-- walferry serve: rows of validation_failures per set (what the last validations found and retention kept).
-- @SCHEMA@: the control schema.
SELECT task_name, count(*) FROM @SCHEMA@.validation_failures GROUP BY task_name ORDER BY task_name
