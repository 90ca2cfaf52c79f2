// cdc/batch_apply.h
//
// Set-based apply of one table's net rows (cdc/net_changes.h) inside the open target transaction
// (docs/cdc.md "Batch apply"): the rows go by COPY into a temporary staging table of the session (text columns,
// one per source column, plus the net operation and which columns are unchanged TOAST), then
//   DELETE FROM [ONLY] t USING stage WHERE op IN (delete, upsert) AND key = key
//   UPDATE [ONLY] t SET c = stage.c::type (or the target's own value where unchanged) FROM stage WHERE op = update
//   INSERT INTO t (cols) OVERRIDING SYSTEM VALUE SELECT stage.c::type ... WHERE op IN (insert, upsert)
// in that order: keys are unique among the net rows, so deletes free every key (and unique value) the rows to
// insert may need, and no statement touches a row another one touches. Values are cast to the TARGET column's type
// exactly as the per-change statements cast their parameters, so both modes store the same bytes. A unique
// constraint can still fail inside a statement (two rows swapping a unique value): the caller then replays the
// batch per change.
//
// Every statement's row count is checked: DELETE and UPDATE must find exactly one target row per net row, INSERT
// must insert every row; otherwise Error(kData) naming the table and the counts.
// The connection must be out of pipeline mode, inside a transaction block. Not thread-safe.
#pragma once

#include <set>
#include <string>

#include "cdc/net_changes.h"
#include "cdc/statement_builder.h"
#include "pg/connection.h"

namespace walferry::cdc {

struct NetApplied {
  uint64_t deleted = 0;
  uint64_t updated = 0;
  uint64_t inserted = 0;
};

class BatchApplier {
 public:
  // Applies `table`'s net rows to its target table (described by `target`, taken when its first change was
  // added). Throws the server's Error, or Error(kData) on a row count mismatch.
  NetApplied Apply(pg::Connection& conn, const NetTable& table, const TargetDescription& target);

  // The open target transaction ended (staging tables are ON COMMIT DELETE ROWS).
  void OnTransactionEnd() { used_.clear(); }

 private:
  std::string Stage(pg::Connection& conn, const NetTable& table, const TargetDescription& target);

  std::set<std::string> created_;  // staging tables of this session
  std::set<std::string> used_;     // staging tables written in the open transaction
};

// One net row as a line of COPY text format: op, unchanged flags ('u' or '.' per column), then every column.
void AppendCopyLine(std::string& out, const NetRow& row);

}  // namespace walferry::cdc
