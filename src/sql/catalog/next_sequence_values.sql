-- The value each sequence's next nextval() returns, from its state: $1 last_value (text[]), $2 is_called (bool[]),
-- $3 increment (text[]); numeric, since last_value plus the increment may pass bigint's range. In input order.
SELECT (v::numeric + CASE WHEN c THEN i::numeric ELSE 0 END)::text
FROM unnest($1::text[], $2::bool[], $3::text[]) WITH ORDINALITY AS u(v, c, i, k)
ORDER BY k
