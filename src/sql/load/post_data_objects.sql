-- The objects pg_dump's post-data section makes for the given tables (indexes, constraints, triggers, rules,
-- policies, extended statistics), each with its catalog address (pg_identify_object_as_address: a type and
-- unquoted names, the same on every server) and its definition. Run on the source (to name the entries of a dump's
-- table of contents by their classid and objid) and on the target (to find which of them exist already), with
-- search_path = pg_catalog so that every definition names objects with their schema.
-- $1 text[] schemas, $2 text[] names of the tables.
WITH tables AS (
  SELECT c.oid
    FROM unnest($1::text[], $2::text[]) AS u(schema_name, table_name)
    JOIN pg_namespace n ON n.nspname = u.schema_name
    JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = u.table_name
), objects (classid, objid, definition) AS (
  SELECT 'pg_class'::regclass::oid, i.indexrelid, pg_get_indexdef(i.indexrelid)
    FROM pg_index i JOIN tables t ON t.oid = i.indrelid
  UNION ALL
  SELECT 'pg_constraint'::regclass::oid, k.oid, pg_get_constraintdef(k.oid)
    FROM pg_constraint k JOIN tables t ON t.oid = k.conrelid
  UNION ALL
  SELECT 'pg_trigger'::regclass::oid, g.oid, pg_get_triggerdef(g.oid)
    FROM pg_trigger g JOIN tables t ON t.oid = g.tgrelid
   WHERE NOT g.tgisinternal
  UNION ALL
  SELECT 'pg_rewrite'::regclass::oid, r.oid, pg_get_ruledef(r.oid)
    FROM pg_rewrite r JOIN tables t ON t.oid = r.ev_class
   WHERE r.rulename <> '_RETURN'
  UNION ALL
  SELECT 'pg_policy'::regclass::oid, p.oid,
         concat_ws(' ', p.polcmd, p.polpermissive,
                   array(SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r) END
                           FROM unnest(p.polroles) AS r ORDER BY 1)::text,
                   pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
    FROM pg_policy p JOIN tables t ON t.oid = p.polrelid
  UNION ALL
  SELECT 'pg_statistic_ext'::regclass::oid, x.oid, pg_get_statisticsobjdef(x.oid)
    FROM pg_statistic_ext x JOIN tables t ON t.oid = x.stxrelid
)
SELECT o.classid::bigint AS classid, o.objid::bigint AS objid, a.type, a.object_names::text AS object_names,
       o.definition
  FROM objects o, pg_identify_object_as_address(o.classid, o.objid, 0) AS a
 ORDER BY 1, 2
