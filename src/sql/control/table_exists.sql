-- Whether table $2 exists in schema $1 (both unquoted names); e.g. the control schema's sets table.
SELECT to_regclass(format('%I.%I', $1::text, $2::text)) IS NOT NULL
