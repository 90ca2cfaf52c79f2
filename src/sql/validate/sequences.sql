-- Every sequence in the schemas $1 (text[]): its direction, whether this role may read it, and its increment. The
-- state itself (last_value, is_called) is read from each sequence (catalog/sequence_values.h): pg_sequences shows a
-- NULL last_value for a fresh sequence, after setval(s, 50, false) and when the role may not read it. Run on both
-- servers by walferry validate (validate/database_objects.h). Read-only.
SELECT schemaname::text, sequencename::text,
       increment_by > 0,
       pg_catalog.has_sequence_privilege(pg_catalog.format('%I.%I', schemaname, sequencename), 'SELECT'),
       increment_by::text
FROM pg_catalog.pg_sequences
WHERE schemaname = ANY ($1::text[])
ORDER BY 1, 2
