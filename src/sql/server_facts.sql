-- What `walferry ping` reports about a server and the connected role. No parameters.
SELECT current_setting('server_version') AS server_version,
       current_setting('server_version_num')::int AS server_version_num,
       current_setting('wal_level') AS wal_level,
       current_user AS role_name,
       r.rolsuper AS is_superuser,
       r.rolreplication AS has_replication,
       has_database_privilege(current_database(), 'CREATE') AS can_create_in_database,
       current_database() AS database_name,
       (SELECT count(*) FROM pg_replication_slots) AS slots_used,
       current_setting('max_replication_slots')::int AS max_replication_slots,
       current_setting('max_wal_senders')::int AS max_wal_senders
FROM pg_roles r
WHERE r.rolname = current_user;
