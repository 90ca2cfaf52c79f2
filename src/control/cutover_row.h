// control/cutover_row.h
//
// walferry cutover's row in the control schema (table `cutover`, one row: the switch's progress, lifecycle/cutover.h)
// as state that belongs to ONE generation of the sets, the one it switched:
//   - the row records that generation (SetsGeneration: every set's name, CDC start and creation time) and the
//     options of the first run when writes are stopped (RecordCutoverStart);
//   - reset, restart and load move it into cutover_history before they load anything (PrepareReload), so a
//     cutover of the sets loaded again starts from the beginning instead of finding an old `done`;
//   - they refuse instead while a cutover is in progress (writes stopped, not aborted) or complete without a switch
//     back: the target is, or is becoming, the new primary, and loading again would drop its tables.
// The switch back (`walferry fallback --switch-back`) keeps its own row in the old source's control schema (same
// layout); its `done` is what lets a reload archive the forward `done`.
// Not thread-safe per Connection.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/lsn.h"
#include "pg/connection.h"

namespace walferry::control {

struct CutoverRow {
  std::string step;  // stopping_writes ... done (lifecycle/cutover.h), or aborted
  std::string source_database;
  std::optional<Lsn> final_lsn;
  std::string sets_generation;        // empty: written by a walferry before it was recorded
  std::vector<std::string> options;   // the first run's options: "fallback", "keep_slots"
  double downtime_seconds = 0;        // writes stopped -> target ready (or now, before that); 0 before writes stopped
  std::optional<std::string> finished_at;

  // Writes may be stopped on the source and the target is becoming the new primary: neither done nor aborted.
  bool InProgress() const { return step != "done" && step != "aborted"; }
};

// The row on `conn` (the target, or the old source for the switch back's row); nullopt when the control schema or
// the table does not exist or holds no row. Throws Error like any statement.
std::optional<CutoverRow> ReadCutoverRow(pg::Connection& conn, const std::string& schema);

// The sets' current generation on the target (src/sql/control/sets_generation.sql); "" without a control schema.
std::string SetsGeneration(pg::Connection& target, const std::string& schema);

// Records the sets' generation and `options` in the row (after lifecycle/cutover.cc wrote it).
void RecordCutoverStart(pg::Connection& target, const std::string& schema, const std::vector<std::string>& options);

// Moves the row (if any) into cutover_history, whole, in one transaction that may write even on a database made
// read-only for new sessions. `by`: the command, for people. Returns whether there was a row.
bool ArchiveCutover(pg::Connection& conn, const std::string& schema, const std::string& by);

// Before `command` (walferry reset, walferry restart --set x, walferry load) drops or loads a set on the target:
// no row, or an aborted one (archived now): go on. A switch back that finished on the old source (its row `done`):
// both rows archived, go on. Otherwise throws Error(kPrecondition), nothing changed: a cutover in progress (say
// how to finish or abort it), a switch back in progress, or a complete cutover (the target is the new primary).
void PrepareReload(pg::Connection& target, pg::Connection& source, const std::string& schema,
                   const std::string& command);

}  // namespace walferry::control
