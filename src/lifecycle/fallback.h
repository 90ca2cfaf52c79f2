// lifecycle/fallback.h
//
// A way back after the switch. `walferry cutover --fallback` prepares reverse replication at the cutover point,
// after the final validation and before the application is told to use the target (PrepareFallback):
//   - on the TARGET: the publication and the pgoutput slot walferry_<fallback set> for every table of the
//     configured sets, and the partition TRUNCATE triggers (control/truncate_capture.h);
//   - on the old SOURCE: walferry's control schema with the fallback set's row, whose CDC start is the slot's
//     consistent point. Only walferry writes to the target before that point, so nothing is missed or doubled.
// The fallback set is named after the target database (FallbackSetName): two migrations into one target cluster
// never share a slot.
// `walferry fallback` streams the target's changes back to the old source with the CDC worker and its exactly-once
// checkpointing (cdc::Worker), the directions swapped (FallbackConfig). The old source stays read-only for every
// session but walferry's: those start with default_transaction_read_only = off (pg::WithServerSetting).
// `walferry fallback --switch-back` is a cutover in the other direction (lifecycle::Cutover on FallbackConfig with
// make_target_writable). `walferry fallback --end` drops the reverse slot, publication and triggers on the target
// and forgets the fallback set on the old source (EndFallback). Not thread-safe; one call per process.
#pragma once

#include <string>

#include "cdc/worker.h"
#include "common/lsn.h"
#include "config/config.h"
#include "lifecycle/cleanup.h"
#include "pg/connection.h"

namespace walferry::lifecycle {

// "fallback_" + the target database's name in [a-z0-9_] (shortened with a hash when long): a valid set name.
std::string FallbackSetName(const std::string& target_database);
// The same, for the database `target` is connected to.
std::string FallbackSetName(pg::Connection& target);

// The configuration turned around: source = the forward target, target = the old source with walferry's sessions
// writable, one set `set_name` holding every table of the forward sets as the target's catalog lists them (each
// keeping its apply mode and LOB settings), the same control schema name and CDC settings.
config::Config FallbackConfig(const config::Config& forward, pg::Connection& target, const std::string& set_name);

// What cutover --fallback checks before it changes anything: the target has wal_level=logical, a free
// replication slot, a wal sender, and its role may create slots and publications; no configured set has the
// fallback set's name; a PostgreSQL 12 target has no partitioned table to publish. Throws Error(kPrecondition) with
// the fix.
void CheckFallbackPossible(const config::Config& forward, pg::Connection& target);

struct FallbackPrepared {
  std::string set_name;
  std::string slot_name;  // the reverse slot on the target (control::SlotName of the way back)
  Lsn start;             // the reverse slot's consistent point on the target
  bool existed = false;  // an earlier (interrupted) cutover had prepared it
};

// Creates the reverse publication, triggers and slot on the target and the fallback set's row on the old source,
// or finds them complete after an interrupted run. The set's row is written before the slot, so a slot walferry
// created is always known; a slot of that name that no row claims is refused, never dropped.
FallbackPrepared PrepareFallback(const config::Config& forward, pg::Connection& target);

// The reverse CDC worker (`walferry fallback`). Throws Error(kPrecondition) when no fallback was prepared.
cdc::WorkerOptions FallbackWorker(const config::Config& forward);

// fallback --end: the reverse slot, publication and triggers dropped on the target (refused while the slot is
// read, unless force), the fallback set forgotten on the old source. Idempotent.
CleanupReport EndFallback(const config::Config& forward, bool force);

}  // namespace walferry::lifecycle
