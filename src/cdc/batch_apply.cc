#include "cdc/batch_apply.h"

#include <algorithm>

#include "common/error.h"
#include "pg/copy_stream.h"
#include "pg/quote.h"

namespace walferry::cdc {
namespace {

// The staging column holding source column c (names need not be valid for the target: c0, c1, ...).
std::string StageCol(size_t c) { return "c" + std::to_string(c); }

std::string TableRef(const NetTable& table, const TargetDescription& target) {
  return (target.relkind == 'p' ? "" : "ONLY ") + TargetTable(table.relation()).Quoted();
}

// s.cN::type: the value read by the TARGET column type's input function, as the per-change statements do.
std::string Cast(const TargetDescription& target, size_t c) { return "s." + StageCol(c) + "::" + target.types[c]; }

bool IsKey(const NetTable& table, size_t c) {
  const auto& k = table.key_cols();
  return std::find(k.begin(), k.end(), static_cast<int>(c)) != k.end();
}

// A column the target generates: staged (a key column finds the row by it) but never inserted or updated.
bool IsGenerated(const TargetDescription& target, size_t c) {
  return std::binary_search(target.generated.begin(), target.generated.end(), static_cast<int>(c));
}

std::string KeyJoin(const NetTable& table, const TargetDescription& target) {
  std::string out;
  for (int c : table.key_cols()) {
    const size_t i = static_cast<size_t>(c);
    out += " AND t." + pg::QuoteIdent(table.relation().columns[i].name) + " = " + Cast(target, i);
  }
  return out;
}

// "c = t.c" for the UPDATE of net rows with nothing else to write: the first key column the target lets an UPDATE
// set (a generated one it refuses, 428C9), else its first column that is not generated.
std::string TouchSet(const NetTable& table, const TargetDescription& target) {
  const Relation& rel = table.relation();
  size_t touch = static_cast<size_t>(table.key_cols().front());
  auto it = std::find_if(table.key_cols().begin(), table.key_cols().end(),
                         [&](int c) { return !IsGenerated(target, static_cast<size_t>(c)); });
  if (it != table.key_cols().end()) {
    touch = static_cast<size_t>(*it);
  } else {
    for (size_t c = 0; c < rel.columns.size(); ++c) {
      if (!IsGenerated(target, c)) {
        touch = c;
        break;
      }
    }
  }
  const std::string col = pg::QuoteIdent(rel.columns[touch].name);
  return col + " = t." + col;
}

void AppendEscaped(std::string& out, std::string_view v) {
  for (char ch : v) {
    switch (ch) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: out += ch;
    }
  }
}

}  // namespace

void AppendCopyLine(std::string& out, const NetRow& row) {
  out += static_cast<char>(row.op);
  out += '\t';
  for (const NetValue& v : row.image) out += v.kind == ColumnKind::kUnchangedToast ? 'u' : '.';
  for (const NetValue& v : row.image) {
    out += '\t';
    if (v.kind == ColumnKind::kText) {
      AppendEscaped(out, v.bytes);
    } else {
      out += "\\N";  // NULL, or a value not sent (unchanged TOAST, a deleted row's non-key column)
    }
  }
  out += '\n';
}

void BatchApplier::CheckRows(const NetStatement& st, int64_t affected, const pg::TableName& table) {
  if (affected >= 0 && static_cast<uint64_t>(affected) == st.rows) return;
  throw Error(ErrorKind::kData, "batch apply: the set-based " + st.what + " of " + table.Display() + " affected " +
                                    std::to_string(affected) + " target rows for " + std::to_string(st.rows) +
                                    " net rows; exactly as many must");
}

std::vector<NetStatement> BatchApplier::Stage(pg::Connection& conn, const NetTable& table,
                                              const TargetDescription& target) {
  std::vector<NetStatement> out;
  const uint64_t deletes = table.Count(NetOp::kDelete) + table.Count(NetOp::kUpsert);
  const uint64_t updates = table.Count(NetOp::kUpdate);
  const uint64_t inserts = table.Count(NetOp::kInsert) + table.Count(NetOp::kUpsert);
  if (deletes + updates + inserts == 0) return out;
  const Relation& rel = table.relation();
  const std::string name = "walferry_stage_" + std::to_string(rel.relation_id.value) + "_" +
                           std::to_string(target.generation);
  const std::string stage = "pg_temp." + pg::QuoteIdent(name);
  if (!created_.contains(name)) {
    std::string ddl = "CREATE TEMP TABLE IF NOT EXISTS " + pg::QuoteIdent(name) + " (op \"char\", u text";
    for (size_t c = 0; c < rel.columns.size(); ++c) ddl += ", " + StageCol(c) + " text";
    conn.Exec(ddl + ") ON COMMIT DELETE ROWS");
    created_.insert(name);
  }
  // TRUNCATE would take an exclusive lock and a new relfilenode per refill; DELETE of a temporary table is cheap.
  if (used_.contains(name)) conn.Exec("DELETE FROM " + stage);
  used_.insert(name);
  {
    pg::CopyIn copy(conn, "COPY " + stage + " FROM STDIN");
    std::string chunk;
    for (const NetRow& row : table.rows()) {
      if (row.op == NetOp::kNone) continue;
      AppendCopyLine(chunk, row);
      if (chunk.size() >= (1 << 20)) {
        copy.Put(chunk);
        chunk.clear();
      }
    }
    if (!chunk.empty()) copy.Put(chunk);
    copy.Finish();
  }
  const std::string ref = TableRef(table, target);
  const std::string join = KeyJoin(table, target);
  if (deletes > 0) {
    out.push_back({"DELETE FROM " + ref + " AS t USING " + stage + " s WHERE s.op IN ('D', 'X')" + join, "DELETE",
                   deletes});
  }
  if (updates > 0) {
    std::string set;
    for (size_t c = 0; c < rel.columns.size(); ++c) {
      if (IsKey(table, c) || IsGenerated(target, c)) continue;
      const std::string col = pg::QuoteIdent(rel.columns[c].name);
      set += set.empty() ? "" : ", ";
      if (table.UnchangedIn(static_cast<int>(c))) {
        // Unchanged TOAST in some row: that row keeps the target's value.
        set += col + " = CASE WHEN substr(s.u, " + std::to_string(c + 1) + ", 1) = 'u' THEN t." + col + " ELSE " +
               Cast(target, c) + " END";
      } else {
        set += col + " = " + Cast(target, c);
      }
    }
    if (set.empty()) {  // only key (or generated) columns: the row count is still checked
      set = TouchSet(table, target);
    }
    out.push_back({"UPDATE " + ref + " AS t SET " + set + " FROM " + stage + " s WHERE s.op = 'U'" + join, "UPDATE",
                   updates});
  }
  if (inserts > 0) {
    std::string cols, vals;
    for (size_t c = 0; c < rel.columns.size(); ++c) {
      if (IsGenerated(target, c)) continue;  // the target computes it
      cols += (cols.empty() ? "" : ", ") + pg::QuoteIdent(rel.columns[c].name);
      vals += (vals.empty() ? "" : ", ") + Cast(target, c);
    }
    out.push_back({"INSERT INTO " + TargetTable(rel).Quoted() + " (" + cols + ") OVERRIDING SYSTEM VALUE SELECT " +
                       vals + " FROM " + stage + " s WHERE s.op IN ('I', 'X')",
                   "INSERT", inserts});
  }
  return out;
}

}  // namespace walferry::cdc
