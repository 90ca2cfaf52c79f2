-- The name of a built-in type with a typmod, as the server prints it (for an error message naming a source column's
-- type: built-in type oids are the same on every cluster). $1: type oid, $2: typmod (-1: none).
SELECT format_type($1::oid, $2::int);
