-- On the SOURCE: walferry's publications in this database (named walferry_<set>). Read-only.
SELECT pubname::text FROM pg_publication WHERE pubname LIKE 'walferry\_%' ORDER BY 1
