-- --repair: rewrites one target row with the source's values (an UPDATE, so foreign keys pointing at it stay valid).
-- Template: @TABLE@, @SET@ ("c1" = $1::type1, ...), @KEYEQ@ (parameters after those of @SET@).
UPDATE @TABLE@ t SET @SET@ WHERE @KEYEQ@;
