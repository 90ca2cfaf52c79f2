-- Which of the given extensions the target can install. $1: text[] of extension names.
SELECT n.name AS name, a.name IS NOT NULL AS available
FROM unnest($1::text[]) AS n(name)
LEFT JOIN pg_available_extensions a ON a.name = n.name
ORDER BY n.name;
