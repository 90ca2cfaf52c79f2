-- On the SOURCE: the login roles that may connect to this database whose own settings turn
-- default_transaction_read_only off, for every database (ALTER ROLE r SET ..., in_database false) or for this one
-- (ALTER ROLE r IN DATABASE d SET ..., in_database true).
-- A role's setting overrides the database's, so the cutover's ALTER DATABASE ... SET default_transaction_read_only
-- = on does not reach their new sessions. Any spelling of "off" counts (off, false, no, 0, and their prefixes).
-- Read-only.
SELECT r.rolname::text, s.setdatabase <> 0 AS in_database, cfg
FROM pg_catalog.pg_db_role_setting s
JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
CROSS JOIN LATERAL unnest(s.setconfig) AS cfg
WHERE s.setdatabase IN (0, (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()))
  AND r.rolcanlogin
  AND has_database_privilege(r.oid, current_database(), 'CONNECT')
  AND lower(split_part(cfg, '=', 1)) = 'default_transaction_read_only'
  AND lower(btrim(substr(cfg, strpos(cfg, '=') + 1), ' ''"'))
      NOT IN ('on', 'true', 'yes', '1', 't', 'tr', 'tru', 'y', 'ye')
ORDER BY 1, 2
