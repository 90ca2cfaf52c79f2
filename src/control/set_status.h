// control/set_status.h
//
// The one typed reader of a set's CDC status: what the control schema's status and checkpoint rows say (target)
// together with the set's replication slot (source), and the one answer to "is this set's CDC running"
// (control::IsRunning). `walferry status` and `walferry migrate` both print from it, so they agree.
// Read-only. Not thread-safe per Connection (one pair of Connections per thread).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/lsn.h"
#include "control/states.h"
#include "pg/connection.h"

namespace walferry::control {

// A set's replication slot on the source, as pg_replication_slots shows it.
struct SlotFacts {
  std::optional<Lsn> confirmed_lsn;               // confirmed_flush_lsn; none before the first confirmation
  std::optional<int64_t> retained_wal_bytes;      // WAL the slot keeps on the source
  bool active = false;                            // a walsender is reading the slot
  std::optional<std::string> wal_status;          // reserved | extended | unreserved | lost (PostgreSQL 13+)
  std::optional<int64_t> safe_wal_bytes;          // WAL left before max_slot_wal_keep_size invalidates the slot
  std::optional<std::string> invalidation_reason;  // why the source invalidated it (17+: wal_removed, idle_timeout...)
  std::optional<double> inactive_seconds;          // since no walsender reads it (17+: inactive_since); none if read
};

// The facts of slot `slot_name` on the source; nullopt when it does not exist.
std::optional<SlotFacts> ReadSlot(pg::Connection& source, const std::string& slot_name);

struct SlotLimits {
  int64_t wal_warn_bytes = int64_t{10} << 30;  // cdc.wal_warn / status --wal-warn
  double unread_seconds = 600;                 // a slot nobody has read for longer than this
};

// What an operator must hear about a slot, one sentence each (empty: nothing): it retains more WAL than
// limits.wal_warn_bytes; max_slot_wal_keep_size is about to invalidate it (safe_wal_size under the same limit, or
// wal_status unreserved) or has (lost); the source invalidated it for the reason it gives (17+); nobody has read it
// for longer than limits.unread_seconds (`unread_seconds`: how long no walferry process has; nullopt while one
// does). Pure.
std::vector<std::string> SlotWarnings(const std::string& slot_name, const SlotFacts& slot,
                                      std::optional<double> unread_seconds, const SlotLimits& limits);

struct SetStatusRow {
  std::string set_name;
  TaskState state = TaskState::kChangeProcessing;  // as the status row says (it may be a dead worker's last word)
  bool running = false;                             // IsRunning(state, fresh, slot && slot->active)
  std::string status_time;                          // when the row was last written (timestamptz text)
  double status_age_seconds = 0;                    // how long ago that was
  std::optional<Lsn> applied_lsn;                   // the checkpoint; none before the first applied transaction
  std::optional<std::string> applied_commit_time;   // source commit time of that transaction (timestamptz text)
  std::optional<double> latency_seconds;
  std::optional<double> rows_per_second;
  std::optional<std::string> last_error;
  int64_t exceptions = 0;                           // rows in apply_exceptions
  std::string slot_name;                            // as the set's load recorded it (none: no set row)
  std::optional<SlotFacts> slot;                    // none when the slot is missing from the source
};

// Every set with a status row, ordered by set name; empty when the control schema does not exist.
// schema: the unquoted control schema name. Throws Error(kData) for a task_status this version does not know,
// Error(kSql/kConnection) from either server.
std::vector<SetStatusRow> ReadSetStatuses(pg::Connection& target, const std::string& schema,
                                          pg::Connection& source);

// SlotWarnings for a set's slot (none when the slot is missing); a slot no walsender reads counts as unread
// since the set's status row was last written.
std::vector<std::string> SetWarnings(const SetStatusRow& status, const SlotLimits& limits);

// The state as a person should read it: the stored state while running or when final, else
// "not running (last: <state>)".
std::string DisplayState(const SetStatusRow& status);

}  // namespace walferry::control
