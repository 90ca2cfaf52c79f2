-- A table without a usable key, as a multiset: how many times each distinct row (by its hash) occurs, in byte order
-- of the hash (COLLATE "C": the same order on both servers and in walferry's merge). Read through a cursor WITH
-- HOLD (validate/multiset.cc), so the client holds one batch at a time. Template: @HASH@, @TABLE@.
SELECT @HASH@ COLLATE "C" AS h, count(*) FROM @TABLE@ t GROUP BY 1 ORDER BY 1;
