-- On the TARGET: how many locks its shared lock table holds (max_locks_per_transaction x (max_connections +
-- max_prepared_transactions)), which bounds how many tables one transaction may create (load/table_groups.h).
-- Read-only.
SELECT current_setting('max_locks_per_transaction')::bigint
       * (current_setting('max_connections')::bigint + current_setting('max_prepared_transactions')::bigint)
