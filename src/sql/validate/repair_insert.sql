-- --repair: inserts the source's row. OVERRIDING SYSTEM VALUE keeps the source's values of identity columns.
-- Template: @TABLE@, @NAMES@ ("c1", ...), @VALUES@ ($1::type1, ...).
INSERT INTO @TABLE@ (@NAMES@) OVERRIDING SYSTEM VALUE VALUES (@VALUES@);
