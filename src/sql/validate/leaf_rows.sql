-- The key and row hash of every row of a small range, in key order. Template: @KEYS@, @HASH@, @TABLE@, @WHERE@, @ORDER@.
SELECT @KEYS@, @HASH@ FROM @TABLE@ t WHERE @WHERE@ ORDER BY @ORDER@;
