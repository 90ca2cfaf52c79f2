-- On the SOURCE: whether this database is read-only for new sessions by its own setting (ALTER DATABASE ... SET
-- default_transaction_read_only = on, as walferry cutover makes it). Read-only.
SELECT EXISTS (
  SELECT 1
  FROM pg_db_role_setting s
  JOIN pg_database d ON d.oid = s.setdatabase
  CROSS JOIN LATERAL unnest(s.setconfig) AS c(setting)
  WHERE d.datname = current_database() AND s.setrole = 0
    AND split_part(c.setting, '=', 1) = 'default_transaction_read_only'
    AND lower(split_part(c.setting, '=', 2)) IN ('on', 'true', 'yes', '1'))
