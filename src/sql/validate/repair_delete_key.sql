-- --repair: removes the target row of one key. Template: @TABLE@, @KEYEQ@.
DELETE FROM @TABLE@ t WHERE @KEYEQ@;
