-- The GENERATED ALWAYS identity columns of one TARGET table, in attribute order (no rows when the table does not
-- exist: the apply itself then fails naming it). $1: schema name, $2: table name (both unquoted, exact).
SELECT a.attname
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped AND a.attidentity = 'a'
ORDER BY a.attnum;
