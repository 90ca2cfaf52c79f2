-- One pending load_progress row per table of a set (kept when present: resume). @SCHEMA@: control schema.
-- $1 set, $2 text[] table schemas, $3 text[] table names.
INSERT INTO @SCHEMA@.load_progress (set_name, table_schema, table_name)
SELECT $1, s, n FROM unnest($2::text[], $3::text[]) AS u(s, n)
ON CONFLICT (set_name, table_schema, table_name, part) DO NOTHING
