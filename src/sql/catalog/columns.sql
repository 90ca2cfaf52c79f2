-- The columns of the tables returned by catalog/tables.sql, in attribute order. $1: array of table oids.
SELECT a.attrelid::bigint AS table_oid,
       a.attname AS column_name,
       a.attnum::int AS attnum,
       format_type(a.atttypid, a.atttypmod) AS type_name,
       a.atttypid::bigint AS type_oid,
       t.typcategory::text AS type_category,
       t.typtype::text AS type_kind,              -- b base, c composite, d domain, e enum, r range, m multirange
       a.attnotnull AS not_null,
       a.attgenerated::text AS generated,          -- '' or 's' (stored) or 'v' (virtual, PostgreSQL 18+)
       a.attidentity::text AS identity,            -- '' or 'a' (ALWAYS) or 'd' (BY DEFAULT)
       tn.nspname AS type_schema,
       -- Binary I/O whose bytes mean the same on another server: not the reg* types (or arrays of them), whose
       -- binary form is the OID of an object, which has another OID (or names another object) on the target.
       t.typsend <> 0 AND t.typreceive <> 0
         AND NOT (et.typnamespace = 'pg_catalog'::regnamespace
                  AND et.typname IN ('regproc', 'regprocedure', 'regoper', 'regoperator', 'regclass', 'regtype',
                                     'regrole', 'regnamespace', 'regconfig', 'regdictionary', 'regcollation'))
         AS has_binary_io
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_namespace tn ON tn.oid = t.typnamespace
JOIN pg_type et ON et.oid = CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN t.typelem ELSE t.oid END
WHERE a.attrelid = ANY ($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum;
