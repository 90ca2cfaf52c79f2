-- How the current database sorts and stores text: provider (c: libc, i: ICU), collate, ctype and ICU locale; the
-- collation library version recorded for it (PostgreSQL 15+, else ''); the encoding. Columns that older versions
-- lack are read through to_jsonb, so one query serves every version. Read-only.
SELECT concat_ws('/', coalesce(j ->> 'datlocprovider', 'c'), d.datcollate, d.datctype, j ->> 'daticulocale'),
       coalesce(j ->> 'datcollversion', ''),
       pg_catalog.pg_encoding_to_char(d.encoding)
FROM pg_catalog.pg_database d, LATERAL pg_catalog.to_jsonb(d) AS j
WHERE d.datname = pg_catalog.current_database()
