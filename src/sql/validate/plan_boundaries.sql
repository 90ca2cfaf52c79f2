-- The upper bounds of a table's top-level key ranges, in key order: a range ends after every $1-th row and where
-- the running size of the rows passes a multiple of $2 bytes, so a range of large values is as much work as one of
-- small rows. Sizes are the values' uncompressed lengths where that is free (octet_length of text and bytea reads a
-- TOAST pointer's header, not the value), their stored size otherwise; they only size ranges, never compare.
-- Template: @KEYS@ t."k1", ... ; @SKEYS@ s."k1", ... ; @ORDER@ the key order; @TABLE@; @WIDTH@ a row's size.
SELECT @SKEYS@
FROM (SELECT @KEYS@, row_number() OVER w AS walferry_rn, sum(@WIDTH@) OVER w AS walferry_end, @WIDTH@ AS walferry_w
      FROM @TABLE@ t WINDOW w AS (ORDER BY @ORDER@ ROWS UNBOUNDED PRECEDING)) s
WHERE s.walferry_rn % $1 = 0 OR div(s.walferry_end, $2::bigint) <> div(s.walferry_end - s.walferry_w, $2::bigint)
ORDER BY s.walferry_rn;
