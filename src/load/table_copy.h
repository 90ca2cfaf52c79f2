// load/table_copy.h
//
// Copies one table's rows from the source (inside a transaction that imported the load's exported snapshot) to the
// target, as ONE target transaction that also marks the table copied in walferry's load_progress: a table copy
// is all-or-nothing, so an interrupted one leaves neither rows nor a "copied" mark behind.
// Bytes pass through untouched (pg::CopyBetween): binary COPY when every column is a built-in type with binary
// I/O (binary input of arrays and composites checks type OIDs, which differ between servers for user types),
// text otherwise. Generated columns are left out on both sides (the target computes them); identity columns are
// copied with their values (COPY does not apply OVERRIDING rules).
// Not thread-safe: one TableCopier per worker thread, each with its own source and target connections.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "pg/connection.h"

namespace walferry::load {

struct TablePlan {
  catalog::TableInfo table;
  bool binary = false;
  std::string copy_out_sql;  // on the source
  std::string copy_in_sql;   // on the target (FREEZE variant built at copy time)
  std::string copy_in_freeze_sql;
  int64_t size_bytes = 0;    // heap + TOAST of the table and all its partitions: largest first
  // A split table is copied as `parts` plans, each reading one ctid block range of the same snapshot; part k of
  // parts. The parts go to one target table that was emptied ONCE before any part (PrepareSplitTable), so a part
  // never truncates and never uses FREEZE.
  int part = 0;
  int parts = 1;
};

// Builds the COPY statements. Every identifier is quoted.
TablePlan PlanTable(const catalog::TableInfo& table, int64_t size_bytes);

// Splits `whole` (a plain table, not partitioned: a ctid is per partition) into `parts` plans over the block
// ranges [k*b, (k+1)*b) of its `heap_blocks` blocks, b = ceil(heap_blocks/parts); the last range is open-ended so
// rows in blocks added after the size was read are still copied (WHERE ctid >= '(a,0)' [AND ctid < '(b,0)'], a
// TID range scan). Every row of the snapshot is in exactly one part.
std::vector<TablePlan> SplitPlan(const TablePlan& whole, int64_t heap_blocks, int parts);

// Before the parts of a split table: in one target transaction, TRUNCATE it (when `truncate`) and reset its
// load_progress rows to `parts` pending parts. A split table whose parts were not all copied is redone whole
// this way: a part's rows cannot be told apart from another part's on the target.
// The table as TRUNCATE names it: ONLY, so that emptying a legacy-inheritance parent never empties its children
// (copied on their own); a partitioned table plainly (ONLY is an error there; its partitions are its rows).
std::string TruncateName(const catalog::TableInfo& table);

void PrepareSplitTable(pg::Connection& target, const std::string& control_schema, const std::string& set_name,
                       const pg::TableName& table, int parts, bool truncate);

struct TableResult {
  pg::TableName table;
  int64_t rows = 0;
  int64_t bytes = 0;
  double seconds = 0;
  bool binary = false;
  int part = 0;
  int parts = 1;
};

// Session settings that make text output exact and identical on both sides (dates, intervals, floats, bytea,
// money). Applied to every source and target worker connection; lc_monetary comes from the source.
void PrepareSession(pg::Connection& conn, const std::string& client_encoding, const std::string& lc_monetary);

// Imports `snapshot` into a new REPEATABLE READ READ ONLY transaction on `source`. Throws Error(kPrecondition)
// saying the snapshot is gone when the server no longer knows it.
void ImportSnapshot(pg::Connection& source, const std::string& snapshot);

// The text of src/sql/NAME.sql with @SCHEMA@ replaced by the quoted control schema.
std::string ControlSql(std::string_view name, const std::string& control_schema);

// Runs the copy in one target transaction: TRUNCATE (when `truncate_first`: the table is walferry's to fill; never
// for a part of a split table), COPY, mark the table (or the plan's part) copied in `control_schema`.load_progress, COMMIT. On any error the target transaction is rolled back.
TableResult CopyTable(const TablePlan& plan, pg::Connection& source, pg::Connection& target,
                      const std::string& control_schema, const std::string& set_name, bool truncate_first);

}  // namespace walferry::load
