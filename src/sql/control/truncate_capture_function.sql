-- On the SOURCE: the trigger function that makes a TRUNCATE of one partition visible in a set's stream. With
-- publish_via_partition_root, pgoutput sends nothing for a truncated partition (only a TRUNCATE of the root), so
-- the trigger walferry_partition_truncate on every leaf partition calls this function, which writes a
-- transactional logical message into the WAL, in the truncating transaction and in its order:
--   prefix 'walferry_partition_truncate',
--   content: partition schema, partition name, root schema, root name, in UTF-8, each ended by a zero byte.
-- walferry asks pgoutput for messages (PostgreSQL 14+) and applies TRUNCATE ONLY <partition> on the target.
-- SECURITY DEFINER: whoever truncates the partition needs no right to emit logical messages.
-- @SCHEMA@ is walferry's schema on the source (named like the control schema); it holds only this function.
CREATE SCHEMA IF NOT EXISTS @SCHEMA@;
CREATE OR REPLACE FUNCTION @SCHEMA@.partition_truncated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  PERFORM pg_logical_emit_message(true, 'walferry_partition_truncate',
    (SELECT convert_to(pn.nspname, 'UTF8') || '\x00'::bytea || convert_to(p.relname, 'UTF8') || '\x00'::bytea ||
            convert_to(rn.nspname, 'UTF8') || '\x00'::bytea || convert_to(r.relname, 'UTF8') || '\x00'::bytea
       FROM pg_class p JOIN pg_namespace pn ON pn.oid = p.relnamespace,
            pg_class r JOIN pg_namespace rn ON rn.oid = r.relnamespace
      WHERE p.oid = TG_RELID AND r.oid = pg_partition_root(TG_RELID)));
  RETURN NULL;
END
$fn$;
