-- Pairs of the given tables (on the source) where creating one needs the other to exist first, for
-- load/table_groups.h. $1 text[] schemas, $2 text[] names. Returns (schema, name, linked schema, linked name).
-- Each object that belongs to a table is mapped to it: the table, its column defaults, the sequences and partitions
-- it owns (pg_depend 'a'/'i'), its row type and that type's array type. Every pg_depend edge between objects of two
-- different tables links them: an inheritance parent or partitioned root, a default's nextval() of a sequence owned
-- by another table, another table's row type as a column type or as the type of a typed table (OF).
WITH t AS (
  SELECT c.oid
    FROM unnest($1::text[], $2::text[]) AS u(s, r)
    JOIN pg_catalog.pg_namespace n ON n.nspname = u.s
    JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = u.r
), owner AS (
  SELECT 'pg_catalog.pg_class'::regclass AS classid, t.oid AS objid, t.oid AS tab FROM t
  UNION ALL
  SELECT 'pg_catalog.pg_attrdef'::regclass, d.oid, d.adrelid FROM pg_catalog.pg_attrdef d JOIN t ON t.oid = d.adrelid
  UNION ALL
  SELECT 'pg_catalog.pg_class'::regclass, d.objid, d.refobjid
    FROM pg_catalog.pg_depend d JOIN t ON t.oid = d.refobjid
   WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
     AND d.objsubid = 0 AND d.deptype IN ('a', 'i')
  UNION ALL
  SELECT 'pg_catalog.pg_type'::regclass, c.reltype, c.oid FROM t JOIN pg_catalog.pg_class c ON c.oid = t.oid
  UNION ALL
  SELECT 'pg_catalog.pg_type'::regclass, ty.oid, c.oid
    FROM t JOIN pg_catalog.pg_class c ON c.oid = t.oid JOIN pg_catalog.pg_type ty ON ty.typelem = c.reltype
   WHERE c.reltype <> 0
), pairs AS (
  SELECT DISTINCT a.tab AS a, b.tab AS b
    FROM pg_catalog.pg_depend d
    JOIN owner a ON a.classid = d.classid AND a.objid = d.objid
    JOIN owner b ON b.classid = d.refclassid AND b.objid = d.refobjid
   WHERE a.tab <> b.tab
)
SELECT an.nspname, ac.relname, bn.nspname, bc.relname
  FROM pairs
  JOIN pg_catalog.pg_class ac ON ac.oid = pairs.a JOIN pg_catalog.pg_namespace an ON an.oid = ac.relnamespace
  JOIN pg_catalog.pg_class bc ON bc.oid = pairs.b JOIN pg_catalog.pg_namespace bn ON bn.oid = bc.relnamespace
