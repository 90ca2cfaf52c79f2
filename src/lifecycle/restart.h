// lifecycle/restart.h
//
// `walferry restart --set NAME`: the playbook's partial restart of one set, in one command. Refuses (Error
// kPrecondition, nothing changed) when the set is not configured, when a table outside the set references one of
// its tables by foreign key on the target (emptying it would break that reference), or while the set's slot is
// being read (lifecycle::Cleanup names the process). Then: the set's slot, publication and partition triggers are
// dropped (as `walferry cleanup --set NAME`), its rows in the control schema (set, checkpoint, status, suspended
// tables) deleted, its tables dropped on the target in ONE statement (references between the restarted tables do not
// matter), and the set loaded again from a new slot and snapshot (tables created again from the source, copied, then
// their indexes and keys), which records the new CDC start. Other sets are not touched and may keep streaming.
// `walferry reset --yes` is the same for every set at once (the playbook's full restart).
// Both hold the migration's lock (control/cutover_lock.h) and refuse (Error kPrecondition, nothing changed) while a
// cutover is in progress or complete without a switch back: the target is (becoming) the new primary
// (control::PrepareReload, which archives an aborted or switched-back cutover's row so the next cutover starts anew).
// Interrupted: run it again (each part is idempotent). Not thread-safe; one call per process.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "load/loader.h"

namespace walferry::lifecycle {

// `names`: one set (restart --set) or every configured set (reset). `command`: "walferry restart --set x" or
// "walferry reset", for messages and the lock holder's application_name. Throws Error(kConfig) for a set that is
// not configured.
load::LoadReport RestartSets(const config::Config& config, const std::vector<std::string>& names,
                             const std::string& command);

}  // namespace walferry::lifecycle
