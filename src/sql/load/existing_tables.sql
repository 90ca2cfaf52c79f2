-- Which of the given relations exist (on the target; the load's tables, the cutover's sequences). $1 text[] schemas,
-- $2 text[] names.
SELECT s AS schema_name, n AS table_name
  FROM unnest($1::text[], $2::text[]) AS u(s, n)
 WHERE to_regclass(format('%I.%I', s, n)) IS NOT NULL
