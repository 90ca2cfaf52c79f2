-- The description of one TARGET table the apply needs (cdc/target_columns.h): one row per live column in attribute
-- order; no rows when the table does not exist (the apply itself then fails naming it).
-- $1: schema name, $2: table name (both unquoted, exact). Run with search_path = pg_catalog, so format_type
-- qualifies every type outside pg_catalog.
-- Columns: relkind, attname, the type to cast a placeholder to (no typmod: the value is read exactly as sent),
-- the type with typmod (for messages), the base type oid and typmod (through one domain level) for the source
-- type check, attidentity = 'a', whether the column belongs to the row-finding key: the primary key, else
-- the unique index with the fewest key columns that is valid, immediate, not partial, has no expression and
-- only NOT NULL columns; and whether the target generates the column (attgenerated 's' stored or, 18+, 'v'
-- virtual: the apply never writes it; an 18 source's publication may send its value, which only finds the row).
WITH rel AS (
  SELECT c.oid, c.relkind
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relname = $2
), usable_key AS (
  SELECT (i.indkey::int2[])[0:i.indnkeyatts - 1] AS cols
  FROM pg_index i JOIN rel ON i.indrelid = rel.oid
  WHERE i.indisunique AND i.indisvalid AND i.indimmediate AND i.indpred IS NULL AND i.indexprs IS NULL
    AND NOT EXISTS (SELECT 1 FROM pg_attribute k
                    WHERE k.attrelid = rel.oid AND k.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])
                      AND NOT k.attnotnull)
  ORDER BY i.indisprimary DESC, i.indnkeyatts, i.indexrelid
  LIMIT 1
)
SELECT rel.relkind::text,
       a.attname,
       format_type(a.atttypid, -1),
       format_type(a.atttypid, a.atttypmod),
       (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END)::int8,
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END,
       a.attidentity = 'a',
       COALESCE(a.attnum = ANY (k.cols), false),
       a.attgenerated <> ''
FROM rel
JOIN pg_attribute a ON a.attrelid = rel.oid
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN usable_key k ON true
WHERE a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;
