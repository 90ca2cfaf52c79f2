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
// exactly as the per-change statements cast their parameters, so both modes store the same bytes. A column the
// target generates (TargetDescription::generated; sent by an 18 source whose publication publishes generated
// columns) is staged like any other, and a key column among them joins the row, but it is never inserted or
// updated: the target computes it. A unique
// constraint can still fail inside a statement (two rows swapping a unique value): the caller then replays the
// batch per change.
//
// Stage() runs the COPY (libpq cannot COPY in pipeline mode: the connection must be out of it, inside a
// transaction block) and returns the three statements; the caller sends them in pipeline mode and reads their
// results later, so the target executes them while walferry reads the next changes. Every statement's row count
// must be checked (CheckRows): DELETE and UPDATE must find exactly one target row per net row, INSERT must insert
// every row.
// Staging tables: one per (relation id, description generation) and session, created on first use (ON COMMIT
// DELETE ROWS), emptied before each refill inside a transaction, never analysed: the session runs with hash and
// merge joins off (ApplySessionSettings), so each statement probes the target's key index once per staged row
// whatever the planner guesses of the staging table, as the per-change statements do. Not thread-safe.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cdc/net_changes.h"
#include "cdc/statement_builder.h"
#include "pg/connection.h"

namespace walferry::cdc {

// One set-based statement, to be sent as is; it must affect exactly `rows` target rows.
struct NetStatement {
  std::string sql;
  std::string what;  // "DELETE", "UPDATE" or "INSERT", for the row count error
  uint64_t rows = 0;
};

class BatchApplier {
 public:
  // Copies `table`'s net rows into its staging table (the connection out of pipeline mode, in a transaction
  // block) and returns the statements that apply them to the target table (described by `target`, taken when
  // its first change was added), in the order they must run; none when there is nothing to apply. Throws the
  // server's Error.
  std::vector<NetStatement> Stage(pg::Connection& conn, const NetTable& table, const TargetDescription& target);

  // The open target transaction ended (staging tables are ON COMMIT DELETE ROWS).
  void OnTransactionEnd() { used_.clear(); }

  // Throws Error(kData) naming `table` and both counts unless `affected` equals st.rows.
  static void CheckRows(const NetStatement& st, int64_t affected, const pg::TableName& table);

  // The planner settings of an apply session that runs set-based statements (see above); sent once per session.
  static constexpr std::string_view kSessionSettings = "SET enable_hashjoin = off; SET enable_mergejoin = off";

 private:
  std::set<std::string> created_;  // staging tables of this session
  std::set<std::string> used_;     // staging tables written in the open transaction
};

// One net row as a line of COPY text format: op, unchanged flags ('u' or '.' per column), then every column.
void AppendCopyLine(std::string& out, const NetRow& row);

}  // namespace walferry::cdc
