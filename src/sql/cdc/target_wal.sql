-- The target's WAL insert and flush positions, for the durability rule of CDC (docs/design/resume.md): commits
-- that returned before this query are at or before the insert position; the flush position says what is durable.
SELECT pg_current_wal_insert_lsn()::text, pg_current_wal_flush_lsn()::text
