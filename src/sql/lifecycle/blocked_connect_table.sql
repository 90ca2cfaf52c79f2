-- On the TARGET: what `walferry cutover --block-connections` revoked on the source database, so that a rerun or
-- --abort restores exactly that (lifecycle/block_connections.h): the roles ('PUBLIC' for everyone) that held
-- CONNECT, and whether walferry's role got CONNECT granted only for the downtime.
CREATE TABLE IF NOT EXISTS @SCHEMA@.blocked_connect (
  source_database text PRIMARY KEY,
  grantees text[] NOT NULL,
  granted_self boolean NOT NULL,
  blocked_at timestamptz NOT NULL DEFAULT now()
)
