-- Whether the backend $1 waits for a lock that the backend $2 holds (the apply connection for the early apply's;
-- cdc::Worker::CheckEarlyConflict).
SELECT $2::int = ANY (pg_blocking_pids($1::int))
