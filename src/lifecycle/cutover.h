// lifecycle/cutover.h
//
// `walferry cutover`: the switch, as one command that is safe to interrupt and to rerun. Each step is logged and
// recorded in the control schema's cutover row (src/sql/control/schema.sql) before the next begins, so a rerun
// continues where an interrupted run stopped:
//   preflight   every set loaded, its slot present and either not read (cutover runs the catch-up itself) or read
//               by a walferry cdc/migrate that keeps the set's status current (it is told the final position
//               through the control schema and stops there), not FAILED, no suspended table (unless
//               allow_suspended); then
//               every set is caught up while the application still writes, in rounds until one round takes at
//               most max_lag (three rounds over it: refused, the source untouched), so the pause below is short.
//               Before and after that catch-up, the freeze check (lifecycle/freeze_check.h): walferry's role may
//               freeze the database (and end sessions, see them, peek slots); no way to write through the freeze
//               is left that the operator did not accept (allow_writers); every sequence the sets use exists on
//               the target; every partition carries its TRUNCATE trigger. Refusals are Error(kPrecondition),
//               nothing changed.
//   stopping_writes / writes_stopped
//               ALTER DATABASE <source db> SET default_transaction_read_only = on: the DEFAULT of new sessions
//               (a session can still turn it off; the freeze check and the slot check below are the proof);
//               the sessions connected before keep their old default: with terminate_sessions they are ended,
//               else cutover waits (at most `timeout`) until they are gone, naming them; walferry's own sessions
//               (application_name walferry...) are neither; `writes_stopped` (the operator stopped the
//               application) skips both. Prepared transactions are waited for (at most `timeout`). Then
//               final_lsn = the source's WAL insert position. Every wait ends on `stop` (Error(kCancelled)).
//   caught_up   every set applied up to final_lsn (cdc::RunSets with until_lsn), after any walferry process
//               elsewhere has stopped there and released the set's slot (waited for at most `timeout`).
//   sequences   every sequence of the sets' schemas set on the target to the source's last_value / is_called.
//   large_objects
//               the target's large objects made equal to the source's (created, changed, unlinked; same OIDs),
//               touching only the migration's own (load::SyncLargeObjects).
//   validated   every set compared with the frozen source (validate, source_frozen); with repair the
//               differences are rewritten and checked again. Differences left: Error, the source stays read-only.
//   target_ready
//               ANALYZE of every table of the sets on the target (with make_target_writable, the switch back,
//               the target database's default_transaction_read_only reset too).
//   fallback_ready
//               with `fallback`: reverse replication prepared at this point (lifecycle/fallback.h), after the
//               validation's repairs and before the application is told to use the target.
//   done        each set's slot read past final_lsn without consuming it (lifecycle/slot_peek.h; also before
//               target_ready): a transaction of the sets committed there fails the cutover, naming it, the source
//               read-only and the slots kept. Then the sets' slots, publications and triggers dropped
//               (lifecycle::Cleanup) unless keep_slots.
// The source is left read-only by design (the application must now use the target); every exit path says so.
// A kPrecondition/kConfig error after the freeze began is rethrown as kData: exit 2 means "nothing changed".
// `walferry fallback --switch-back` runs the same steps in the other direction (FallbackConfig, names).
// Abort() (cutover --abort) makes the source writable again (ALTER DATABASE ... RESET) and marks the cutover
// aborted; CDC can resume from where it was. Forward, it first ends a fallback the cutover prepared and then
// releases the target's read-only hold (lifecycle/target_hold.h); for the switch back (make_target_writable) it
// first makes the old source read-only again. Not thread-safe; one call per process.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "lifecycle/fallback.h"

namespace walferry::lifecycle {

// How messages name the two servers and the command (the switch back swaps them).
struct CutoverNames {
  std::string source = "source";
  std::string target = "target";
  std::string command = "walferry cutover";
};

struct CutoverOptions {
  config::Config config;  // source, target, control schema, sets, cdc settings
  bool writes_stopped = false;
  bool terminate_sessions = false;
  std::chrono::seconds timeout{60};  // waiting for the sessions from before the switch to end
  std::chrono::seconds max_lag{30};  // a catch-up round before the switch must take at most this long
  bool allow_suspended = false;
  bool validate = true;
  bool repair = false;      // --on-difference repair
  bool keep_slots = false;
  int validate_jobs = 2;
  bool fallback = false;              // --fallback: prepare reverse replication (step fallback_ready)
  bool make_target_writable = false;  // the switch back: the old source takes writes again at target_ready
  // --allow-writers: the ways to write through the freeze the operator accepts (lifecycle/freeze_check.h).
  std::set<std::string> allow_writers;
  // --block-connections: no role but walferry's may connect to the source database from the freeze to `done`
  // (lifecycle/block_connections.h); restored at `done` and by AbortCutover.
  bool block_connections = false;
  CutoverNames names;
};

struct CutoverReport {
  std::string source_database;
  std::string final_lsn;
  double downtime_seconds = 0;  // writes stopped -> target ready
  int64_t sequences = 0;
  int64_t large_objects_copied = 0;
  int64_t large_objects_unlinked = 0;
  bool validated = false;
  std::vector<std::string> dropped;  // by the final cleanup
  bool already_done = false;         // an earlier run had finished it
  std::optional<FallbackPrepared> fallback;  // prepared by this run
};

// Runs (or continues) the cutover. Throws Error on failure; the message says whether the source is read-only.
CutoverReport Cutover(const CutoverOptions& options, const std::atomic<bool>& stop);

// cutover --abort: the source writable again, the cutover row marked aborted. Returns the source database.
// Throws Error(kPrecondition) when the cutover is done already (the slots are gone).
std::string AbortCutover(const CutoverOptions& options);

}  // namespace walferry::lifecycle
