-- Source-wide facts for the preflight checks. No parameters. One row. Runs on every served version (12+):
-- max_slot_wal_keep_size (13+) is NULL where the server has no such setting; preflight.cc reads it only where
-- pg::FeaturesOf says the server has it.
SELECT current_setting('wal_level') AS wal_level,
       current_setting('server_version_num')::int AS server_version_num,
       current_setting('server_version') AS server_version,
       current_setting('max_replication_slots')::int AS max_replication_slots,
       (SELECT count(*) FROM pg_replication_slots)::int AS slots_used,
       current_setting('max_wal_senders')::int AS max_wal_senders,
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender')::int AS wal_senders_used,
       current_setting('max_slot_wal_keep_size', true) AS max_slot_wal_keep_size,
       current_setting('wal_sender_timeout') AS wal_sender_timeout,
       (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_sender_timeout') AS wal_sender_timeout_ms,
       current_setting('output_plugin_libraries', true) AS output_plugin_libraries,
       (SELECT count(*) FROM pg_stat_activity
         WHERE xact_start < now() - interval '5 minutes' AND pid <> pg_backend_pid())::int AS long_transactions,
       (SELECT COALESCE(max(EXTRACT(EPOCH FROM now() - xact_start)), 0)::bigint FROM pg_stat_activity
         WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid()) AS oldest_transaction_seconds,
       (SELECT count(*) FROM pg_prepared_xacts)::int AS prepared_transactions,
       r.rolsuper AS is_superuser,
       r.rolreplication AS has_replication,
       has_database_privilege(current_database(), 'CREATE') AS can_create_in_database,
       current_user AS role_name,
       current_database() AS database_name,
       (SELECT count(*) FROM pg_largeobject_metadata)::bigint AS large_objects,
       pg_total_relation_size('pg_catalog.pg_largeobject') AS large_object_bytes,
       (SELECT COALESCE(json_agg(json_build_object('name', e.extname, 'version', e.extversion) ORDER BY e.extname),
                        '[]')::text
          FROM pg_extension e WHERE e.extname <> 'plpgsql') AS extensions
FROM pg_roles r
WHERE r.rolname = current_user;
