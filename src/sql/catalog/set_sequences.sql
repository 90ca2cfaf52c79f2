-- In one statement: setval for every sequence $1 schemas, $2 names (text[]) to $3 values (text[], bigint) with $4
-- is_called (bool[]), as read by catalog::ReadSequenceValues on the other server. Returns how many were set. Every
-- sequence must exist (the statement fails whole otherwise).
SELECT count(pg_catalog.setval(pg_catalog.format('%I.%I', s, n)::regclass, v::bigint, c))
FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[]) AS u(s, n, v, c)
