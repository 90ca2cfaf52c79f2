-- On the SOURCE: every sequence (owned, identity and standalone) in the schemas $1 (text[]). Read-only.
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'S' AND n.nspname = ANY ($1::text[])
ORDER BY 1, 2
