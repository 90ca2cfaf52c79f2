-- On the SOURCE: the trigger function that makes a TRUNCATE of one partition visible in a set's stream. With
-- publish_via_partition_root, pgoutput sends nothing for a truncated partition (only a TRUNCATE of the root), so
-- the trigger walferry_partition_truncate on every leaf partition calls this function, which announces the
-- partition and its root in the truncating transaction and in its order:
--   14+ (the write below: a transactional logical message): prefix 'walferry_partition_truncate', content: partition
--       schema, partition name, root schema, root name, in UTF-8, each ended by a zero byte; walferry asks pgoutput
--       for messages (PostgreSQL 14+);
--   13 (no messages in pgoutput; the write below: an INSERT): a row of the four names in @SCHEMA@.partition_truncates, a
--       table walferry adds to the set's publication (control/truncate_capture.h).
-- walferry applies TRUNCATE ONLY <partition> on the target. control/truncate_capture.cc puts the write in place
-- of the one placeholder in the body.
-- SECURITY DEFINER: whoever truncates the partition needs no right to emit logical messages or on the table.
-- @SCHEMA@ is walferry's schema on the source (named like the control schema); it holds only this function (and,
-- on 13, that table).
CREATE SCHEMA IF NOT EXISTS @SCHEMA@;
CREATE OR REPLACE FUNCTION @SCHEMA@.partition_truncated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  p_schema text;
  p_name text;
  r_schema text;
  r_name text;
BEGIN
  SELECT pn.nspname, p.relname, rn.nspname, r.relname
    INTO p_schema, p_name, r_schema, r_name
    FROM pg_class p JOIN pg_namespace pn ON pn.oid = p.relnamespace,
         pg_class r JOIN pg_namespace rn ON rn.oid = r.relnamespace
   WHERE p.oid = TG_RELID AND r.oid = pg_partition_root(TG_RELID);
  @WRITE@;
  RETURN NULL;
END
$fn$;
