-- On the SOURCE: every pgoutput message (protocol 1) logical slot $1 holds for publication $2 (quoted as an
-- identifier list), WITHOUT consuming them (peek): the slot is left as it was. Read-only.
SELECT pg_catalog.encode(data, 'hex')
FROM pg_catalog.pg_logical_slot_peek_binary_changes($1, NULL, NULL, 'proto_version', '1', 'publication_names', $2)
