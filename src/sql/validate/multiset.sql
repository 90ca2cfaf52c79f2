-- A table without a usable key, as a multiset: how many times each distinct row (by md5 of its text) occurs.
-- Template: @ROW@, @TABLE@.
SELECT md5(@ROW@::text) AS h, count(*) FROM @TABLE@ t GROUP BY 1 ORDER BY 1;
