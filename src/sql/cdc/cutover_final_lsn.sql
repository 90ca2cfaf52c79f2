-- The final position of a cutover in progress (writes stopped on the source, not yet done or aborted): a running
-- CDC worker stops there so that walferry cutover can finish the catch-up (lifecycle/cutover.h). No rows otherwise.
SELECT final_lsn::text
FROM @SCHEMA@.cutover
WHERE final_lsn IS NOT NULL AND step NOT IN ('aborted', 'done')
