-- Which of the given large object OIDs ($1, a text array) this database has. Read-only.
SELECT m.oid::bigint FROM pg_catalog.pg_largeobject_metadata m WHERE m.oid = ANY ($1::oid[]) ORDER BY m.oid
