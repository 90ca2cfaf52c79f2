-- On the SOURCE: who holds CONNECT on this database (its ACL, or the default one when it has none), one row each:
-- the role name ('PUBLIC' for everyone) and whether it is walferry's own role (current_user). Read-only.
SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE r.rolname::text END,
       r.rolname IS NOT NULL AND r.rolname = current_user
FROM pg_catalog.pg_database d
CROSS JOIN LATERAL pg_catalog.aclexplode(coalesce(d.datacl, pg_catalog.acldefault('d', d.datdba))) a
LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
WHERE d.datname = current_database() AND a.privilege_type = 'CONNECT'
ORDER BY 1
