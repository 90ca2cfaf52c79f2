-- On the TARGET: takes the migration's lock (control/cutover_lock.h) for this session, without waiting; true when
-- taken. One bigint key: class 1463897158 ('WALF', as the set locks) in the high half, 1 in the low half, so that
-- pg_locks shows classid 1463897158, objid 1, objsubid 1 (the set locks use the two-key form: objsubid 2).
SELECT pg_try_advisory_lock((1463897158::bigint << 32) | 1)
