-- On the TARGET: takes the advisory lock of set $1 for this session, without waiting; true when taken. The class
-- 1463897158 ('WALF') keeps walferry's keys apart from the application's advisory locks.
SELECT pg_try_advisory_lock(1463897158, hashtext($1))
