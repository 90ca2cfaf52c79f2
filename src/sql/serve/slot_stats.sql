-- walferry serve, source side (PostgreSQL 14+, pg::ServerFeatures::stat_replication_slots): logical decoding's
-- statistics of the named slots. $1: text[] of slot names. Read through to_jsonb so that a column a version lacks
-- gives NULL.
SELECT slot_name::text, (to_jsonb(s) ->> 'spill_bytes')::bigint, (to_jsonb(s) ->> 'spill_txns')::bigint,
       (to_jsonb(s) ->> 'total_txns')::bigint
FROM pg_stat_replication_slots s WHERE slot_name = ANY ($1::text[])
