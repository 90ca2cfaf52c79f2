-- walferry serve: each status row's raw state and the counters of the process that writes it (NULL when that
-- walferry is older than the counters). @SCHEMA@: the control schema.
SELECT task_name, task_status, (to_jsonb(s) ->> 'changes_applied')::bigint,
       (to_jsonb(s) ->> 'transactions_applied')::bigint, (to_jsonb(s) ->> 'groups_applied')::bigint,
       (to_jsonb(s) ->> 'retries')::bigint
FROM @SCHEMA@.status s ORDER BY task_name
