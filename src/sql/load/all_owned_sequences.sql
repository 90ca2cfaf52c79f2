-- The oids of every sequence owned by a table column (serial or identity): they are created with their tables.
SELECT d.objid::bigint AS oid
  FROM pg_depend d
  JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
 WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
