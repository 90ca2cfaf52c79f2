-- On the SOURCE: the database of replication slot $1 and whether it is this database's (slot names are
-- cluster-wide). Read-only.
SELECT coalesce(database::text, ''), database IS NOT DISTINCT FROM current_database()
FROM pg_replication_slots
WHERE slot_name = $1
