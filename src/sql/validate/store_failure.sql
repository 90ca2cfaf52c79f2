-- One difference found by `walferry validate`, kept in the control schema. Template: @SCHEMA@ (quoted).
INSERT INTO @SCHEMA@.validation_failures (task_name, table_owner, table_name, key, failure_type, details)
VALUES ($1, $2, $3, $4, $5, $6);
