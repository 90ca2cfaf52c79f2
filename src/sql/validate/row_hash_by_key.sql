-- The row hash of one key (no row: the key is absent). Template: @ROW@, @TABLE@, @KEYEQ@ (t."k1" = $1::type AND ...).
SELECT md5(@ROW@::text) FROM @TABLE@ t WHERE @KEYEQ@;
