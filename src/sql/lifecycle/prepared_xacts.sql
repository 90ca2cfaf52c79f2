-- On the SOURCE: the prepared transactions (PREPARE TRANSACTION) of this database. COMMIT PREPARED is allowed in a
-- read-only session and the slots are not two-phase (such a transaction is decoded at its COMMIT PREPARED), so one
-- committed after the final position would be lost. Read-only.
SELECT gid, prepared::text, owner::text, transaction::text
FROM pg_catalog.pg_prepared_xacts
WHERE database = current_database()
ORDER BY prepared, gid
