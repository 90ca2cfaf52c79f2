// lifecycle/slot_peek.h
//
// The proof that the freeze held: before the cutover drops a set's slot, it reads what the slot holds past the
// final position WITHOUT consuming it (pg_logical_slot_peek_binary_changes, pgoutput protocol 1, the set's
// publication), decodes it with cdc::Decoder and returns every transaction that committed at or after the final
// position and changed a table of the set. CDC applied every transaction committing before the final position
// (cdc/exactly_once.h, stop_at); any transaction returned here is on the source and not on the target.
// Invariants: the slot is left as it was (peek); a transaction with no row change (pgoutput before PostgreSQL 15
// sends every transaction's BEGIN/COMMIT) is not returned. Nothing is skipped: a message the decoder does not
// accept fails the check (Error(kProtocol)) rather than passing it.
// The slot must not be in use (the server refuses to peek an active slot: Error(kSql)).
// Not thread-safe per Connection.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "common/lsn.h"
#include "pg/connection.h"

namespace walferry::lifecycle {

struct EscapedTransaction {
  uint32_t xid = 0;
  std::string commit_time;  // ISO 8601, UTC
  Lsn commit_lsn;
  std::set<std::string> tables;  // schema.name as the stream names them
};

// The transactions of `slot` (publication `publication`) committed at or after `final_lsn` that changed a row.
std::vector<EscapedTransaction> CommittedAfter(pg::Connection& source, const std::string& slot,
                                               const std::string& publication, Lsn final_lsn);

// "xid 123 committed 2026-...Z at 0/1A2B3C4 (public.orders, public.items)".
std::string Describe(const EscapedTransaction& t);

}  // namespace walferry::lifecycle
