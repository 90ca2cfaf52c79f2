-- Every large object of the database with an md5 of its contents, its size and its owner, in OID order. Run on
-- both sides by walferry cutover to make the target's large objects equal to the source's. Read-only.
SELECT o.oid::bigint, md5(o.data), octet_length(o.data)::bigint, pg_catalog.pg_get_userbyid(o.lomowner)::text
FROM (SELECT m.oid, m.lomowner, pg_catalog.lo_get(m.oid) AS data FROM pg_largeobject_metadata m) AS o
ORDER BY o.oid
