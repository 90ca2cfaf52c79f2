-- One row's text and columns by key (for a report and for --repair). Template: @ROW@, @COLS@, @TABLE@, @KEYEQ@.
SELECT @ROW@::text, @COLS@ FROM @TABLE@ t WHERE @KEYEQ@;
