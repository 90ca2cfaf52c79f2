-- The row hash of one key (no row: the key is absent). Template: @HASH@, @TABLE@, @KEYEQ@ (t."k1" = $1::type AND ...).
SELECT @HASH@ FROM @TABLE@ t WHERE @KEYEQ@;
