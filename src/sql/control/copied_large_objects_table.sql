-- The large objects a migration copied INTO this database (control/copied_large_objects.h): the OIDs walferry created here
-- with the source's OID. Only these (and those the other side's record names) are ever replaced or unlinked by
-- walferry; any other large object is another application's or another migration's, and a source large object
-- with its OID is an error naming it. Written in the same transaction as the copy. Idempotent.
CREATE TABLE IF NOT EXISTS @SCHEMA@.copied_large_objects (
  lo oid PRIMARY KEY,
  copied_at timestamptz NOT NULL DEFAULT now()
)
