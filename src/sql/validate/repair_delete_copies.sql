-- --repair on a keyless table: removes $2 of the target rows whose text hashes to $1. Template: @TABLE@, @HASH@.
DELETE FROM @TABLE@ WHERE ctid = ANY (ARRAY(SELECT t.ctid FROM @TABLE@ t WHERE @HASH@ = $1 LIMIT $2));
