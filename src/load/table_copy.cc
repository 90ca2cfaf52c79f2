#include "load/table_copy.h"

#include <chrono>

#include <fmt/format.h>

#include "common/error.h"
#include "load/snapshot_locks.h"
#include "pg/copy_stream.h"
#include "pg/quote.h"
#include "sql/sql.h"

namespace walferry::load {

namespace {
// PostgreSQL's FirstNormalObjectId: types below it are built in, with the same OID on every server.
constexpr uint32_t kFirstNormalObjectId = 16384;

// Built-in types whose binary COPY does not give the target what text gives it, so a table with one is copied as
// text. xml (142, its array 143): xml_send prefixes an XML declaration naming the session's encoding when it is
// not UTF8, and xml_recv stores it: a LATIN1 source's '<a/>' arrived as '<?xml version="1.0" encoding="LATIN1"?>
// <a/>'. tsquery (3615, its array 3645): tsqueryrecv builds another internal image than tsqueryin for the same
// query, so CDC's REPLICA IDENTITY FULL match (record image equality against the value read from text) found no
// row for a copied tsquery.
bool BinaryCopyIsExact(uint32_t type_oid) {
  return type_oid != 142 && type_oid != 143 && type_oid != 3615 && type_oid != 3645;
}
}  // namespace

std::string ControlSql(std::string_view name, const std::string& control_schema) {
  std::string text(sql::Get(name));
  const std::string marker = "@SCHEMA@";
  std::string quoted = pg::QuoteIdent(control_schema);
  for (size_t pos = text.find(marker); pos != std::string::npos; pos = text.find(marker, pos + quoted.size())) {
    text.replace(pos, marker.size(), quoted);
  }
  return text;
}

std::string TruncateName(const catalog::TableInfo& table) {
  return (table.relkind == 'p' ? "" : "ONLY ") + table.name.Quoted();
}

TablePlan PlanTable(const catalog::TableInfo& table, int64_t size_bytes) {
  TablePlan plan;
  plan.table = table;
  plan.size_bytes = size_bytes;
  plan.binary = true;
  std::string cols;
  for (const auto& c : table.columns) {
    if (c.generated) continue;
    if (!cols.empty()) cols += ", ";
    cols += pg::QuoteIdent(c.name);
    plan.binary = plan.binary && c.has_binary_io && c.type_oid < kFirstNormalObjectId && BinaryCopyIsExact(c.type_oid);
  }
  const std::string quoted = table.name.Quoted();
  const std::string format = plan.binary ? "binary" : "text";
  const std::string list = cols.empty() ? "" : " (" + cols + ")";
  // A partitioned table cannot be COPY'd TO directly; a query over it reads all its partitions.
  if (table.relkind == 'p') {
    plan.copy_out_sql = "COPY (SELECT " + (cols.empty() ? std::string("FROM ") : cols + " FROM ") + quoted +
                        ") TO STDOUT (FORMAT " + format + ")";
  } else {
    plan.copy_out_sql = "COPY " + quoted + list + " TO STDOUT (FORMAT " + format + ")";
  }
  plan.copy_in_sql = "COPY " + quoted + list + " FROM STDIN (FORMAT " + format + ")";
  // FREEZE (rows written already frozen, no later hint-bit rewrite) needs the table truncated in the same
  // transaction and is not available for partitioned tables.
  plan.copy_in_freeze_sql =
      table.relkind == 'p' ? plan.copy_in_sql : "COPY " + quoted + list + " FROM STDIN (FORMAT " + format + ", FREEZE)";
  return plan;
}

std::vector<TablePlan> SplitPlan(const TablePlan& whole, int64_t heap_blocks, int parts) {
  std::vector<TablePlan> out;
  const int64_t per_part = (heap_blocks + parts - 1) / parts;
  std::string cols;
  for (const auto& c : whole.table.columns) {
    if (c.generated) continue;
    cols += (cols.empty() ? "" : ", ") + pg::QuoteIdent(c.name);
  }
  const std::string format = whole.binary ? "binary" : "text";
  for (int k = 0; k < parts; ++k) {
    TablePlan plan = whole;
    plan.part = k;
    plan.parts = parts;
    plan.size_bytes = whole.size_bytes / parts;
    // Block numbers are computed here, not user input; a tid literal has no parameter in COPY (query).
    std::string where = "ctid >= " + pg::QuoteLiteral("(" + std::to_string(k * per_part) + ",0)") + "::tid";
    if (k + 1 < parts) {
      where += " AND ctid < " + pg::QuoteLiteral("(" + std::to_string((k + 1) * per_part) + ",0)") + "::tid";
    }
    // ONLY: a legacy-inheritance parent's own rows, never its children's (COPY t TO reads t alone too).
    plan.copy_out_sql = "COPY (SELECT " + (cols.empty() ? std::string() : cols + " ") + "FROM ONLY " +
                        whole.table.name.Quoted() + " WHERE " + where + ") TO STDOUT (FORMAT " + format + ")";
    plan.copy_in_freeze_sql = plan.copy_in_sql;  // the table was truncated in an earlier transaction
    out.push_back(std::move(plan));
  }
  return out;
}

void PrepareSplitTable(pg::Connection& target, const std::string& control_schema, const std::string& set_name,
                       const pg::TableName& table, int parts, bool truncate) {
  WithContext("preparing the split copy of " + table.Display(), [&] {
    pg::InTransaction(target, [&] {
      if (truncate) target.Exec("TRUNCATE ONLY " + table.Quoted());  // a split table is never partitioned
      target.Exec("DELETE FROM " + pg::QuoteIdent(control_schema) +
                      ".load_progress WHERE set_name = $1 AND table_schema = $2 AND table_name = $3",
                  {pg::Param(set_name), pg::Param(table.schema), pg::Param(table.name)});
      target.Exec(ControlSql("load/progress_parts", control_schema),
                  {pg::Param(set_name), pg::Param(table.schema), pg::Param(table.name),
                   pg::Param(std::to_string(parts))});
    });
  });
}

void PrepareSession(pg::Connection& conn, const std::string& client_encoding, const std::string& lc_monetary) {
  WithContext("preparing the " + conn.role() + " session for COPY", [&] {
    conn.Exec(
        "SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET TimeZone = 'UTC'; "
        "SET extra_float_digits = 3; SET bytea_output = 'hex'; SET statement_timeout = 0; "
        "SET idle_in_transaction_session_timeout = 0");
    // SET takes no parameters; these values come from the source server itself and are quoted as literals.
    conn.Exec("SET client_encoding = " + pg::QuoteLiteral(client_encoding));
    conn.Exec("SET lc_monetary = " + pg::QuoteLiteral(lc_monetary));
  });
}

void ImportSnapshot(pg::Connection& source, const std::string& snapshot) {
  source.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  try {
    source.Exec("SET TRANSACTION SNAPSHOT " + pg::QuoteLiteral(snapshot));
  } catch (Error& e) {
    source.Exec("ROLLBACK");
    if (e.sqlstate() != "22023") throw;
    throw Error(ErrorKind::kPrecondition, "the load's exported snapshot " + snapshot + " no longer exists on the source")
        .WithDetail("an exported snapshot lives only as long as the replication connection of the walferry process "
                    "that created the set's slot; that process has ended")
        .WithHint("the tables not yet copied cannot be copied consistently with the slot's start point any more. "
                  "Start the set's load over: walferry load --target-prep truncate (walferry drops the interrupted "
                  "load's slot and publication and empties the set's tables first)");
  }
}

TableResult CopyTable(const TablePlan& plan, pg::Connection& source, pg::Connection& target,
                      const std::string& control_schema, const std::string& set_name, bool truncate_first) {
  const auto& name = plan.table.name;
  const std::string what = plan.parts > 1 ? fmt::format("copying {} part {} of {}", name.Display(), plan.part + 1,
                                                        plan.parts)
                                          : "copying " + name.Display();
  return WithContext(what, [&] {
    auto start = std::chrono::steady_clock::now();
    TableResult result;
    result.table = name;
    result.binary = plan.binary;
    result.part = plan.part;
    result.parts = plan.parts;
    // The table as the snapshot saw it, or a clear stop when a rewrite is queued (load/snapshot_locks.h).
    LockForCopy(source, name);
    // One target transaction: the rows and the "copied" mark commit together, or neither does.
    pg::InTransaction(target, [&] {
      if (truncate_first) target.Exec("TRUNCATE " + TruncateName(plan.table));
      result.rows = pg::CopyBetween(source, plan.copy_out_sql, target,
                                    truncate_first ? plan.copy_in_freeze_sql : plan.copy_in_sql, &result.bytes);
      result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      target.Exec(ControlSql("load/progress_copied", control_schema),
                  {pg::Param(set_name), pg::Param(name.schema), pg::Param(name.name),
                   pg::Param(std::to_string(result.rows)), pg::Param(std::to_string(result.bytes)),
                   pg::Param(std::to_string(result.seconds)), pg::Param(std::to_string(plan.part))});
    });
    return result;
  });
}

}  // namespace walferry::load
