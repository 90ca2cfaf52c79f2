-- A table without a usable key, as a multiset: how many times each distinct row (by md5 of its text) occurs.
-- Template: @HASH@, @TABLE@.
SELECT @HASH@ AS h, count(*) FROM @TABLE@ t GROUP BY 1 ORDER BY 1;
