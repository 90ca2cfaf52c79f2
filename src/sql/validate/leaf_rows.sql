-- The key and row hash of every row of a small range, in key order. Template: @KEYS@, @ROW@, @TABLE@, @WHERE@, @ORDER@.
SELECT @KEYS@, md5(@ROW@::text) FROM @TABLE@ t WHERE @WHERE@ ORDER BY @ORDER@;
