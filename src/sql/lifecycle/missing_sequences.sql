-- On the TARGET: which of the sequences $1 schemas, $2 names (text[]) do not exist there. Read-only.
SELECT s, n
FROM unnest($1::text[], $2::text[]) AS u(s, n)
WHERE pg_catalog.to_regclass(pg_catalog.format('%I.%I', s, n)) IS NULL
ORDER BY 1, 2
