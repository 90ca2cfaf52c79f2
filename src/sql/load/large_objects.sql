-- Every large object of the database, in OID order. Run inside the load's snapshot. (pg_largeobject_metadata is
-- readable by everyone; the contents are read with lo_get, which checks the large object's privileges.)
SELECT m.oid::bigint AS oid FROM pg_largeobject_metadata m ORDER BY m.oid
