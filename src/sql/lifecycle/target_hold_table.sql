-- lifecycle/target_hold.h: the target databases walferry made read-only while cutover --fallback switches (at most
-- the one the control schema is in). A row is written BEFORE the ALTER DATABASE and deleted after the RESET, so a
-- hold walferry made is always known, and a target the operator made read-only is never made writable by walferry.
CREATE TABLE IF NOT EXISTS @SCHEMA@.target_hold (
  database_name text PRIMARY KEY,
  held_since timestamptz NOT NULL DEFAULT now()
)
