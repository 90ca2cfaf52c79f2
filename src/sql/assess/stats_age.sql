-- Seconds over which pg_stat_user_tables counters have accumulated: since the database's statistics were reset,
-- else since the server started. No parameters.
SELECT EXTRACT(EPOCH FROM now() - COALESCE(d.stats_reset, pg_postmaster_start_time()))::float8 AS seconds
FROM pg_stat_database d
WHERE d.datname = current_database();
