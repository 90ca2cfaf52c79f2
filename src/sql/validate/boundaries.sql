-- Every $1-th key of a range, in key order: the upper bounds of sub-ranges of $1 rows each. Template:
--   @KEYS@ t."k1", ... ; @SKEYS@ s."k1", ... ; @ORDER@ the key order; @TABLE@; @WHERE@ (its parameters start at $2).
SELECT @SKEYS@
FROM (SELECT @KEYS@, row_number() OVER (ORDER BY @ORDER@) AS walferry_rn FROM @TABLE@ t WHERE @WHERE@) s
WHERE s.walferry_rn % $1 = 0
ORDER BY s.walferry_rn;
