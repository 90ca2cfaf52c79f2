-- Template (not runnable as is): the stored sizes of one table's LOB columns in one scan. walferry substitutes the
-- braced placeholders below: sizes (per LOB column i: "<size expression> AS s<i>", the expression being
-- pg_column_size of the quoted column or, for large-object oid columns, the object's length), aggregates (per
-- column: max, 99th percentile and the count above the limit), any_over_limit, table (schema and name through
-- pg::QuoteIdent) and sample (empty, or TABLESAMPLE SYSTEM ($2)).
-- $1: the limit in bytes (NULL: none). $2: the sample percent, only when sampling.
SELECT count(*) AS rows_scanned,
       count(*) FILTER (WHERE {any_over_limit}) AS rows_over_limit
       {aggregates}
FROM (SELECT {sizes} FROM {table} AS t {sample}) AS v;
