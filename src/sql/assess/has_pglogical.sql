-- Whether the pglogical extension is installed in this database. No parameters.
SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pglogical') AS installed;
