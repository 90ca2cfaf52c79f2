-- One row whose text hashes to $1: its text and its columns (for a report and for --repair). Template: @ROW@,
-- @HASH@, @COLS@, @TABLE@.
SELECT @ROW@::text, @COLS@ FROM @TABLE@ t WHERE @HASH@ = $1 LIMIT 1;
