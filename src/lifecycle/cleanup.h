// lifecycle/cleanup.h
//
// `walferry cleanup`: drops what walferry created on the SOURCE for the configured sets -- each set's replication
// slot walferry_<set>, its publication walferry_<set> and the partition TRUNCATE triggers on its partitions
// (control/truncate_capture.h); once no walferry publication is left, the trigger function and walferry's schema on
// the source (if nothing else is in it). A slot left behind retains WAL until the source's disk fills, so this is
// the last step of every migration that does not end with `cutover`.
//   - Idempotent: what is already gone is skipped; a second run drops nothing and succeeds.
//   - Refuses (Error kPrecondition, nothing dropped) while a slot to drop is being read, naming the process;
//     `force` ends that walsender first.
//   - `orphans`: also the slots and publications of this database that the TARGET's control schema recorded as
//     this migration's (table source_objects: every name a load or fallback of it ever gave) and that no
//     configured set owns (a renamed or removed set); without it they are only reported. Never one it did not
//     record: slot names are cluster-wide, and another migration of the same source (another database, or this one
//     into another target) has its own, listed as `foreign` and left alone.
//   - `drop_control_schema`: also the control schema on the TARGET (every set's state and history).
//   - `fallback`: also the fallback's slot, publication and triggers on the TARGET (lifecycle/fallback.h), after
//     the source's, and the fallback set's row on the old source (this source); refused in the same way while
//     `walferry fallback` reads that slot. Without it a fallback slot on the target is never dropped (it is the
//     way back), only reported in fallback_kept.
// `server` names the server the slots are on in messages: cleanup of the fallback runs with source = the target.
// Not thread-safe; one call per process.
#pragma once

#include <string>
#include <vector>

namespace walferry::lifecycle {

struct CleanupOptions {
  std::string source;
  std::string target;
  std::string control_schema = "walferry";
  // walferry.yaml migration_id: with the source database, names the sets' slots and publications
  // (control::SlotName).
  std::string migration_id;
  std::vector<std::string> sets;  // the configured set names
  bool force = false;
  bool orphans = false;
  bool drop_control_schema = false;
  bool fallback = false;
  std::string server = "source";
  bool log_dropped = true;  // false when the caller prints CleanupReport::dropped itself (walferry cleanup)
  // Every configured set (cleanup --set drops one of them): never an orphan. Empty: `sets`.
  std::vector<std::string> configured;
};

struct CleanupReport {
  std::vector<std::string> dropped;  // "slot walferry_a", "publication walferry_a", ... in the order dropped
  std::vector<std::string> fallback_kept;  // the way back's slot on the target, left (no --fallback)
  std::vector<std::string> orphans_kept;  // recorded objects no configured set owns, left (no --orphans)
  std::vector<std::string> foreign;       // walferry_* objects of this database this migration never recorded
};

CleanupReport Cleanup(const CleanupOptions& options);

}  // namespace walferry::lifecycle
