-- Size and 128-bit checksum of one key range (or of a whole table): each row's text is hashed with md5 and the two
-- 64-bit halves of the hashes are summed exactly (numeric, no overflow). Order-independent: equal results mean equal
-- multisets of row texts (up to md5 collisions). Template, filled by validate/table_sql.cc:
--   @TABLE@ quoted table, aliased t; @HASH@ md5 of the row text ROW(t."c1", ...) over the source's columns, as
--   UTF8 when the two databases' encodings differ (validate/table_sql.h); @WHERE@ range predicate.
SELECT count(*),
       coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint::numeric), 0)::text,
       coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint::numeric), 0)::text
FROM (SELECT @HASH@ AS h FROM @TABLE@ t WHERE @WHERE@) s;
