-- One split table's load_progress as `parts` pending parts (0 .. parts-1), after its earlier rows were deleted,
-- in the transaction that truncated the table. @SCHEMA@: control schema. $1 set, $2 table schema, $3 table name,
-- $4 parts.
INSERT INTO @SCHEMA@.load_progress (set_name, table_schema, table_name, part, parts)
SELECT $1, $2, $3, p, $4::int FROM generate_series(0, $4::int - 1) AS p
