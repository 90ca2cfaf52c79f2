-- Whether one TARGET table is partitioned (relkind 'p'): TRUNCATE ONLY is an error there, while on any other
-- table it keeps a TRUNCATE away from legacy-inheritance children. No row when the table does not exist (the
-- apply itself then fails naming it). $1: schema name, $2: table name (both unquoted, exact).
SELECT c.relkind = 'p' AS partitioned
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2;
