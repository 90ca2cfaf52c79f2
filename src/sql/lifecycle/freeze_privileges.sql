-- On the SOURCE: what walferry's role may do during the cutover: ALTER DATABASE (superuser or the database's
-- owner), end other roles' sessions (pg_signal_backend), see other roles' sessions in pg_stat_activity
-- (pg_read_all_stats: else their backend_start is hidden and they could not be waited for), read a slot without
-- consuming it (REPLICATION). Read-only.
SELECT r.rolsuper,
       pg_catalog.pg_has_role(current_user, d.datdba, 'USAGE') AS owns_database,
       pg_catalog.pg_has_role(current_user, 'pg_signal_backend', 'USAGE') AS signal_backend,
       pg_catalog.pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS read_all_stats,
       r.rolreplication,
       current_user::text,
       pg_catalog.pg_get_userbyid(d.datdba)::text AS owner
FROM pg_catalog.pg_roles r, pg_catalog.pg_database d
WHERE r.rolname = current_user AND d.datname = current_database()
