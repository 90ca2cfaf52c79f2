-- On the SOURCE: the WAL insert position (after flush_source_wal.sql: every record before it is flushed) and the
-- WAL page and segment sizes in bytes, from which cdc::RecordEnd makes the stop position a record's end.
SELECT pg_current_wal_insert_lsn()::text,
       (SELECT setting FROM pg_catalog.pg_settings WHERE name = 'wal_block_size'),
       (SELECT setting FROM pg_catalog.pg_settings WHERE name = 'wal_segment_size')
