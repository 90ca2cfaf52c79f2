-- On the TARGET: the current generation of the sets, as text: every set's name, CDC start and creation time. A
-- load, restart or reset of a set makes its row anew, so the text changes; CDC never changes it.
SELECT coalesce(string_agg(set_name || '@' || coalesce(start_lsn::text, '-') || '@' ||
                           (extract(epoch FROM created_at) * 1000000)::bigint::text, ',' ORDER BY set_name), '')
FROM @SCHEMA@.sets
