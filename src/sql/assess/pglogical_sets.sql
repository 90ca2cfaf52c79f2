-- pglogical's replication sets and their tables on this node. No parameters. Needs the pglogical extension.
SELECT rs.set_name AS set_name, n.nspname AS schema_name, c.relname AS table_name
FROM pglogical.replication_set rs
JOIN pglogical.replication_set_table rst ON rst.set_id = rs.set_id
JOIN pg_class c ON c.oid = rst.set_reloid
JOIN pg_namespace n ON n.oid = c.relnamespace
ORDER BY rs.set_name, n.nspname, c.relname;
