-- On the TARGET, in one statement: setval for every sequence $1 schemas, $2 names (text[]) to $3 values (text[],
-- bigint) with $4 is_called (bool[]), read on the source (lifecycle/cutover.cc). Returns how many were set. The
-- caller checks first that every sequence exists (lifecycle/missing_sequences.sql).
SELECT count(pg_catalog.setval(pg_catalog.format('%I.%I', s, n)::regclass, v::bigint, c))
FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[]) AS u(s, n, v, c)
