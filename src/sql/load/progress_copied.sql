-- Marks one table copied, inside the target transaction that copied it. @SCHEMA@: walferry's control schema.
-- $1 set, $2 table schema, $3 table name, $4 rows, $5 bytes, $6 seconds, $7 part (0 unless split).
UPDATE @SCHEMA@.load_progress
   SET state = 'copied', rows_copied = $4::bigint, bytes_copied = $5::bigint, copy_seconds = $6::float8,
       updated_at = now()
 WHERE set_name = $1 AND table_schema = $2 AND table_name = $3 AND part = $7::int
