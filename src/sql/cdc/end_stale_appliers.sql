-- Ends the apply sessions of a set other than the current one ($2: its pid). Run only once this process reads the
-- set's slot, so no other walferry is applying the set: another session with the set's apply name is a dead
-- connection's (a half-open one the server has not noticed), and its open transaction would hold row locks that
-- block every later apply until lock_timeout. $1: application_name walferry_apply_<set>.
SELECT pid, pg_terminate_backend(pid)
FROM pg_stat_activity
WHERE application_name = $1 AND pid <> $2::int AND datname = current_database()
