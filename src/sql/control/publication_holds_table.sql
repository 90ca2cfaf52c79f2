-- Whether a publication holds one table by name (pg_publication_rel): walferry's table of partition TRUNCATE
-- announcements on a PostgreSQL 13 source (control/truncate_capture.h). Read-only.
-- $1: publication name, $2: schema, $3: table name. false when either does not exist.
SELECT EXISTS (
  SELECT 1
  FROM pg_publication p
  JOIN pg_publication_rel pr ON pr.prpubid = p.oid
  JOIN pg_class c ON c.oid = pr.prrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE p.pubname = $1 AND n.nspname = $2 AND c.relname = $3)
