-- Size and 128-bit checksum of one key range (or of a whole table), order-independent: equal results mean equal
-- multisets of row digest texts (up to hash collisions). Template, filled by validate/table_sql.cc:
--   @TABLE@ quoted table, aliased t; @WHERE@ range predicate;
--   @INNER@ per row: its digest text ROW(t."c1", ...)::text COLLATE "C" as r (databases in one encoding; bytea
--   columns as their md5), or the md5 of that text converted to UTF8 as h (databases in different encodings);
--   @SUMS@ two 64-bit sums of per-row hashes, as text: hashtextextended(r, 0) and (r, 1) summed as bigint (exact:
--   a 128-bit accumulator), or the two 64-bit halves of h summed as numeric. hashtextextended is about three
--   times cheaper than md5 with hex parsing; it is PostgreSQL's own portable hash of the text's bytes (COLLATE "C":
--   deterministic), the one hash partitioning relies on.
SELECT count(*), @SUMS@
-- OFFSET 0 keeps the subquery whole: pulled up, its r would be built once per sum (the row's text twice).
FROM (SELECT @INNER@ FROM @TABLE@ t WHERE @WHERE@ OFFSET 0) s;
