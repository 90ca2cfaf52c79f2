-- Records a change the target could not apply: set, table schema and name, the statement with its values, error.
INSERT INTO @SCHEMA@.apply_exceptions (task_name, table_owner, table_name, statement, error)
VALUES ($1, $2, $3, $4, $5)
