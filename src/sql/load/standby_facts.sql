-- What `walferry load --from-standby` checks before it changes anything. Run on the standby AND on the source:
-- both must be the same cluster (system identifier) and database; the standby must be in recovery, not paused
-- already, and the role must be allowed to pause and resume replay (superuser, or GRANT EXECUTE).
-- pg_get_wal_replay_pause_state() fails outside recovery, hence the CASE (volatile: evaluated only when chosen).
SELECT pg_catalog.pg_is_in_recovery() AS in_recovery,
       pg_catalog.current_database() AS database,
       current_user AS role_name,
       pg_catalog.has_function_privilege('pg_catalog.pg_wal_replay_pause()', 'EXECUTE') AS can_pause,
       pg_catalog.has_function_privilege('pg_catalog.pg_wal_replay_resume()', 'EXECUTE') AS can_resume,
       CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_get_wal_replay_pause_state() END AS pause_state,
       CASE WHEN pg_catalog.has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE')
            THEN (SELECT system_identifier::text FROM pg_catalog.pg_control_system()) END AS system_identifier
