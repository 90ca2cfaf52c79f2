-- On the SOURCE, for a set whose slot no process reads: how many row changes (INSERT, UPDATE, DELETE, TRUNCATE
-- messages) of transactions committed at or after the set's CDC checkpoint and before a position the slot still
-- holds, i.e. changes CDC has not applied yet. At or after: the checkpoint is the END LSN of the last applied
-- transaction, and the commit record of the next one can start exactly there (its changes were written before
-- the other committed); an applied transaction's commit LSN is always below its end (docs/design/resume.md). Decodes without consuming (peek): the slot is left as it was.
-- $1 slot, $2 up to this LSN, $3 publication, $4 the set's CDC checkpoint (applied_lsn).
-- pgoutput protocol 1: a message's first byte is its type; a Commit ('C') holds the commit LSN at bytes 3..10.
WITH m AS (
  SELECT xid, data
  FROM pg_catalog.pg_logical_slot_peek_binary_changes($1, $2::pg_lsn, NULL,
                                                      'proto_version', '1', 'publication_names', $3)
)
SELECT count(*)
FROM m AS change
JOIN m AS commit ON commit.xid = change.xid AND pg_catalog.get_byte(commit.data, 0) = 67
WHERE pg_catalog.get_byte(change.data, 0) IN (73, 85, 68, 84)
  AND ('x' || pg_catalog.encode(pg_catalog.substr(commit.data, 3, 8), 'hex'))::bit(64)::bigint::numeric
      >= ($4::pg_lsn - '0/0'::pg_lsn)
