// lifecycle/fallback.h
//
// A way back after the switch. `walferry cutover --fallback` prepares reverse replication at the cutover point,
// after the final validation and before the application is told to use the target (PrepareFallback):
//   - on the TARGET: the publication and the pgoutput slot walferry_<fallback set> for every table of the
//     configured sets, and the partition TRUNCATE triggers (control/truncate_capture.h);
//   - on the old SOURCE: walferry's control schema with the fallback set's row, whose CDC start is the slot's
//     consistent point. Only walferry writes to the target before that point (the target is held read-only for
//     everyone else from stopping_writes until the slot exists, lifecycle/target_hold.h), so nothing is missed or
//     doubled. An aborted cutover ends the fallback it prepared (EndAbortedFallback): it is never reused.
// The fallback set is named after the target database and the source's identity (FallbackSetName): two migrations
// into one target cluster, or two sources into one target database, never share a slot.
// `walferry fallback` streams the target's changes back to the old source with the CDC worker and its exactly-once
// checkpointing (cdc::Worker), the directions swapped (FallbackConfig). The old source stays read-only for every
// session but walferry's: those start with default_transaction_read_only = off (pg::WithServerSetting).
// `walferry fallback --switch-back` is a cutover in the other direction (lifecycle::Cutover on FallbackConfig with
// make_target_writable). `walferry fallback --end` drops the reverse slot, publication and triggers on the target
// and forgets the fallback set on the old source (EndFallback). Not thread-safe; one call per process.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "cdc/worker.h"
#include "common/lsn.h"
#include "config/config.h"
#include "lifecycle/cleanup.h"
#include "pg/connection.h"

namespace walferry::lifecycle {

// Who the old source is: its cluster's system identifier and its database.
struct SourceIdentity {
  std::string system_identifier;
  std::string database;
};
// Read from pg_control_system(), or through IDENTIFY_SYSTEM when that function is not executable.
SourceIdentity IdentifySource(pg::Connection& source);

// "fallback_" + the target database's name in [a-z0-9_] (its first 30 characters) + "_" + 8 hex digits hashing the
// target database's whole name and the source's identity: a valid set name (at most 48 characters), the same on
// every build, and different for two sources into one target database.
std::string FallbackSetName(const std::string& target_database, const SourceIdentity& source);
// The same, for the database `target` is connected to and the old source `old_source` is connected to.
std::string FallbackSetName(pg::Connection& target, pg::Connection& old_source);
// The same, connecting to the configuration's target and source.
std::string FallbackSetName(const config::Config& forward);

// The configuration turned around: source = the forward target, target = the old source with walferry's sessions
// writable, one set `set_name` holding every table of the forward sets as the target's catalog lists them (each
// keeping its apply mode and LOB settings), the same control schema name and CDC settings.
config::Config FallbackConfig(const config::Config& forward, pg::Connection& target, const std::string& set_name);

// What cutover --fallback checks before it changes anything: the target has wal_level=logical, a free
// replication slot, a wal sender, and its role may create slots and publications; no configured set has the
// fallback set's name; a PostgreSQL 12 target has no partitioned table to publish. Throws Error(kPrecondition) with
// the fix.
void CheckFallbackPossible(const config::Config& forward, pg::Connection& target, pg::Connection& source);

struct FallbackPrepared {
  std::string set_name;
  std::string slot_name;  // the reverse slot on the target (control::SlotName of the way back)
  Lsn start;             // the reverse slot's consistent point on the target
  bool existed = false;  // an earlier (interrupted) cutover had prepared it
};

// Creates the reverse publication, triggers and slot on the target and the fallback set's row on the old source,
// or finds them complete after an interrupted run. The set's row is written before the slot, so a slot walferry
// created is always known; a slot of that name that no row claims is refused, never dropped.
// Creating the slot waits for every transaction with an id open on the target's cluster: PrepareFallback waits
// for them first, at most `timeout` (0: no limit) and until `stop` (Ctrl-C: Error kCancelled), then throws
// Error(kPrecondition) naming them (pid, database, application, since when); nothing is created then.
FallbackPrepared PrepareFallback(const config::Config& forward, pg::Connection& target,
                                 std::chrono::seconds timeout = std::chrono::seconds(0),
                                 const std::atomic<bool>* stop = nullptr);

// The reverse CDC worker (`walferry fallback`). Throws Error(kPrecondition) when no fallback was prepared.
cdc::WorkerOptions FallbackWorker(const config::Config& forward);

// cutover --abort (before done): a fallback the aborted cutover prepared, fully or in part, is ended as by
// EndFallback (refused while its slot is read). After the abort the forward CDC writes to the target again; a
// reverse slot from before would hold those writes, and a later cutover --fallback reusing it would carry them back
// onto the old source. Returns what was dropped.
CleanupReport EndAbortedFallback(const config::Config& forward);

// fallback --switch-back --abort: the old source (the database `old_source` is connected to, as a walferry session
// that may write) read-only again for new sessions, as the forward cutover left it; run before the target takes
// writes again, so that the two are never both writable. A switch back past target_ready had made it writable.
void KeepOldSourceReadOnly(pg::Connection& old_source);

// fallback --end: the reverse slot, publication and triggers dropped on the target (refused while the slot is
// read, unless force), the fallback set forgotten on the old source. Idempotent.
CleanupReport EndFallback(const config::Config& forward, bool force);

}  // namespace walferry::lifecycle
