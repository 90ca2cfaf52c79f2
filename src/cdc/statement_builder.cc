#include "cdc/statement_builder.h"

#include <algorithm>

#include "common/error.h"

namespace walferry::cdc {
namespace {

std::string Placeholder(int n) { return "$" + std::to_string(n); }

// "$n::type" with the TARGET column's type, so the parameter is read by that type's input function (an untyped
// parameter of a composite type cannot be resolved); "$n" when the target type is unknown.
std::string Typed(const TargetDescription& target, int col, int n) {
  const size_t c = static_cast<size_t>(col);
  if (c >= target.types.size() || target.types[c].empty()) return Placeholder(n);
  return Placeholder(n) + "::" + target.types[c];
}

// The table an UPDATE or DELETE names: ONLY, so the children of a legacy inheritance parent are never touched,
// unless the target is partitioned (its rows live in the partitions).
std::string TableRef(const Relation& rel, const TargetDescription& target) {
  const bool only = target.found && target.relkind != 'p';
  return (only ? "ONLY " : "") + TargetTable(rel).Quoted();
}

// Index of column c in shape.where_cols (c is one of them).
int WherePosition(const StatementShape& shape, int c) {
  auto it = std::find(shape.where_cols.begin(), shape.where_cols.end(), c);
  if (it == shape.where_cols.end()) throw Error(ErrorKind::kInternal, "a key column is not among the WHERE columns");
  return static_cast<int>(it - shape.where_cols.begin());
}

// The WHERE that identifies the row, parameters from first_param in where_cols order.
//   key identity:  k = $n::type AND ...
//   FULL identity: [k = $n::type AND ...] ROW(c, ..)::record *= ROW($n::type, ..)::record
// The record image operator compares binary images: identical, not merely equal (1.0 vs 1.00, 0 vs -0, NFC vs
// NFD), NULL matches NULL, and it needs no `=` of the column types. A key column's parameter is the same $n as in
// the image.
std::string WhereList(const Relation& rel, const TargetDescription& target, const StatementShape& shape,
                      int first_param) {
  std::string out;
  if (!shape.full_identity) {
    for (size_t i = 0; i < shape.where_cols.size(); ++i) {
      const int c = shape.where_cols[i];
      if (i > 0) out += " AND ";
      out += pg::QuoteIdent(rel.columns[c].name) + " = " + Typed(target, c, first_param + static_cast<int>(i));
    }
    return out;
  }
  for (int c : shape.key_cols) {
    out += pg::QuoteIdent(rel.columns[c].name) + " = " + Typed(target, c, first_param + WherePosition(shape, c)) +
           " AND ";
  }
  std::string cols, vals;
  for (size_t i = 0; i < shape.where_cols.size(); ++i) {
    const int c = shape.where_cols[i];
    if (i > 0) cols += ", ", vals += ", ";
    cols += pg::QuoteIdent(rel.columns[c].name);
    vals += Typed(target, c, first_param + static_cast<int>(i));
  }
  return out + "ROW(" + cols + ")::record *= ROW(" + vals + ")::record";
}

std::string SetList(const Relation& rel, const TargetDescription& target, const StatementShape& shape) {
  if (shape.set_cols.empty()) {
    std::string name = pg::QuoteIdent(rel.columns[shape.touch_col].name);
    return name + " = " + name;
  }
  std::string out;
  for (size_t i = 0; i < shape.set_cols.size(); ++i) {
    const int c = shape.set_cols[i];
    if (i > 0) out += ", ";
    out += pg::QuoteIdent(rel.columns[c].name) + " = " + Typed(target, c, static_cast<int>(i) + 1);
  }
  return out;
}

// " AND n = $k ..." for the guard columns (identity columns are NOT NULL: plain equality).
std::string GuardList(const Relation& rel, const TargetDescription& target, const StatementShape& shape,
                      int first_param) {
  std::string out;
  int p = first_param;
  for (int c : shape.guard_cols) out += " AND " + pg::QuoteIdent(rel.columns[c].name) + " = " + Typed(target, c, p++);
  return out;
}

// The WHERE of an UPDATE/DELETE: identity columns, then guards.
std::string FullWhere(const Relation& rel, const TargetDescription& target, const StatementShape& shape,
                      int first_param) {
  return WhereList(rel, target, shape, first_param) +
         GuardList(rel, target, shape, first_param + static_cast<int>(shape.where_cols.size()));
}

// WITH r AS (SELECT tableoid, ctid ... LIMIT 1): one physical row, also in a partitioned table (ctid alone is
// unique only within one partition).
std::string OneRowCte(const Relation& rel, const TargetDescription& target, const StatementShape& shape,
                      int first_param) {
  return "WITH walferry_row AS (SELECT tableoid AS toid, ctid AS tid FROM " + TableRef(rel, target) + " WHERE " +
         FullWhere(rel, target, shape, first_param) + " LIMIT 1) ";
}

std::vector<int> KeyColumns(const Relation& rel, const TupleData& t) {
  std::vector<int> out;
  for (size_t i = 0; i < rel.columns.size(); ++i) {
    if (rel.columns[i].is_key() && t.columns[i].kind != ColumnKind::kUnchangedToast) out.push_back(static_cast<int>(i));
  }
  return out;
}

std::vector<int> SentColumns(const TupleData& t) {
  std::vector<int> out;
  for (size_t i = 0; i < t.columns.size(); ++i) {
    if (t.columns[i].kind != ColumnKind::kUnchangedToast) out.push_back(static_cast<int>(i));
  }
  return out;
}

bool Contains(const std::vector<int>& sorted, int i) { return std::binary_search(sorted.begin(), sorted.end(), i); }

bool SameValue(const ColumnValue& a, const ColumnValue& b) { return a.kind == b.kind && a.bytes == b.bytes; }

// The old value of column i, when the old tuple carries it (a key column of a 'K' tuple, any sent column of 'O').
const ColumnValue* OldValue(const Relation& rel, const std::optional<OldTuple>& old, int i) {
  if (!old) return nullptr;
  const ColumnValue& v = old->tuple.columns[i];
  if (v.kind == ColumnKind::kUnchangedToast) return nullptr;
  if (old->kind == OldTupleKind::kFull || rel.columns[i].is_key()) return &v;
  return nullptr;
}

// Whether the target lets an UPDATE or INSERT write column c: not a GENERATED ALWAYS identity, not generated.
bool Writable(const TargetDescription& target, int c) {
  return !Contains(target.always_identity, c) && !Contains(target.generated, c);
}

// The column an UPDATE with nothing to write assigns to itself: the first WHERE column the target lets an UPDATE
// set, else any such column. A table whose only columns are ALWAYS identity or generated has none: its first WHERE
// column is used, and the target rejects the statement (428C9) -- loudly, never a wrong row.
int TouchColumn(const Relation& rel, const StatementShape& s, const TargetDescription& target) {
  for (int c : s.where_cols) {
    if (Writable(target, c)) return c;
  }
  for (size_t i = 0; i < rel.columns.size(); ++i) {
    if (Writable(target, static_cast<int>(i))) return static_cast<int>(i);
  }
  return s.where_cols.front();
}

std::string ColumnNames(const Relation& rel, const std::vector<int>& cols) {
  std::string out;
  for (int c : cols) out += (out.empty() ? "" : ", ") + pg::QuoteIdent(rel.columns[c].name);
  return out;
}

void RequireIdentity(const Relation& rel, const StatementShape& s) {
  if (s.where_cols.empty()) {
    throw Error(ErrorKind::kData, "an UPDATE or DELETE on " + TargetTable(rel).Display() +
                                      " carries no replica identity to find the row by")
        .WithHint("give the source table a primary key or REPLICA IDENTITY FULL / USING INDEX");
  }
}

// WHERE columns from an old tuple (key or full image), or from the new tuple's key when the key did not change.
// Under REPLICA IDENTITY FULL the target's unique key finds the row when the old tuple carries all its columns.
void IdentityFrom(const Relation& rel, const std::optional<OldTuple>& old, const TupleData& fallback,
                  const TargetDescription& target, StatementShape& s) {
  if (old && old->kind == OldTupleKind::kFull) {
    s.full_identity = true;
    s.where_cols = SentColumns(old->tuple);
    const auto& key = target.unique_key;
    bool carried = !key.empty() && std::all_of(key.begin(), key.end(), [&](int c) {
      return Contains(s.where_cols, c) && old->tuple.columns[c].kind != ColumnKind::kNull;
    });
    if (carried) s.key_cols = key;
  } else {
    s.where_cols = KeyColumns(rel, old ? old->tuple : fallback);
  }
  RequireIdentity(rel, s);
}

}  // namespace

std::string StatementShape::Key() const {
  std::string k;
  auto add = [&k](int c) { k.append({static_cast<char>(c & 0xff), static_cast<char>((c >> 8) & 0xff)}); };
  k.reserve(8 + 2 * (set_cols.size() + where_cols.size() + guard_cols.size() + key_cols.size()));
  k.push_back(static_cast<char>(kind));
  k.push_back(full_identity ? 'F' : 'K');
  k.push_back(identity_changed ? 'C' : '-');
  add(touch_col);
  for (int c : set_cols) add(c);
  k.push_back('|');
  for (int c : where_cols) add(c);
  k.push_back('|');
  for (int c : guard_cols) add(c);
  k.push_back('|');
  for (int c : key_cols) add(c);
  return k;
}

pg::TableName TargetTable(const Relation& rel) { return pg::TableName{rel.namespace_name, rel.name}; }

BuiltStatement BuildStatement(const Relation& rel, const TargetDescription& target, const StatementShape& shape) {
  const std::string table = TargetTable(rel).Quoted();
  const std::string ref = TableRef(rel, target);
  const int nset = static_cast<int>(shape.set_cols.size());
  BuiltStatement out;
  out.nparams = nset + static_cast<int>(shape.where_cols.size() + shape.guard_cols.size());
  if (shape.kind == ChangeKind::kInsert) {
    if (shape.set_cols.empty()) throw Error(ErrorKind::kInternal, "INSERT without columns for " + table);
    std::string cols, vals;
    for (int i = 0; i < nset; ++i) {
      if (i > 0) cols += ", ", vals += ", ";
      cols += pg::QuoteIdent(rel.columns[shape.set_cols[i]].name);
      vals += Typed(target, shape.set_cols[i], i + 1);
    }
    out.sql = "INSERT INTO " + table + " (" + cols + ") OVERRIDING SYSTEM VALUE VALUES (" + vals + ")";
    return out;
  }
  if (shape.where_cols.empty()) throw Error(ErrorKind::kInternal, "UPDATE/DELETE without WHERE columns for " + table);
  if (shape.kind == ChangeKind::kUpdate) {
    if (shape.set_cols.empty() && shape.touch_col < 0) {
      throw Error(ErrorKind::kInternal, "UPDATE without SET columns for " + table);
    }
    if (!shape.full_identity || !shape.key_cols.empty()) {
      out.sql = "UPDATE " + ref + " SET " + SetList(rel, target, shape) + " WHERE " +
                FullWhere(rel, target, shape, nset + 1);
    } else {
      out.sql = OneRowCte(rel, target, shape, nset + 1) + "UPDATE " + ref + " AS walferry_t SET " +
                SetList(rel, target, shape) +
                " FROM walferry_row WHERE walferry_t.tableoid = walferry_row.toid AND walferry_t.ctid = walferry_row.tid";
    }
    return out;
  }
  if (!shape.full_identity || !shape.key_cols.empty()) {
    out.sql = "DELETE FROM " + ref + " WHERE " + WhereList(rel, target, shape, 1);
  } else {
    out.sql = OneRowCte(rel, target, shape, 1) + "DELETE FROM " + ref +
              " AS walferry_t USING walferry_row WHERE walferry_t.tableoid = walferry_row.toid AND "
              "walferry_t.ctid = walferry_row.tid";
  }
  return out;
}

StatementShape ShapeFor(const Relation& rel, const Insert& change, const TargetDescription& target) {
  StatementShape s;
  s.kind = ChangeKind::kInsert;
  s.set_cols = SentColumns(change.new_tuple);
  if (s.set_cols.size() != change.new_tuple.columns.size()) {
    throw Error(ErrorKind::kData, "an INSERT into " + TargetTable(rel).Display() + " carries an unchanged-TOAST column");
  }
  std::erase_if(s.set_cols, [&](int c) { return Contains(target.generated, c); });  // the target computes them
  return s;
}

StatementShape ShapeFor(const Relation& rel, const Update& change, const TargetDescription& target) {
  const std::vector<int>& always_identity = target.always_identity;
  StatementShape s;
  s.kind = ChangeKind::kUpdate;
  IdentityFrom(rel, change.old, change.new_tuple, target, s);
  bool key_unchanged = !change.old.has_value();
  for (int i : SentColumns(change.new_tuple)) {
    // The key did not change: its columns are already equal to the WHERE values, writing them is a no-op.
    if (key_unchanged && rel.columns[i].is_key()) continue;
    if (Contains(target.generated, i)) continue;  // the target computes it from the columns written here
    if (Contains(always_identity, i)) {
      // Never written (the target allows only DEFAULT). Unchanged when the old value is known and equal (it is
      // then in the WHERE already); otherwise the row must still have the new value, or the UPDATE matches nothing.
      const ColumnValue* before = OldValue(rel, change.old, i);
      if (before && SameValue(*before, change.new_tuple.columns[i])) continue;
      s.guard_cols.push_back(i);
      if (before) s.identity_changed = true;
      continue;
    }
    s.set_cols.push_back(i);
  }
  // Nothing else to write: assign a column to itself so the row is still found and its count checked.
  if (s.set_cols.empty()) s.touch_col = TouchColumn(rel, s, target);
  return s;
}

NoRowExplanation ExplainNoRow(const Relation& rel, const StatementShape& shape) {
  if (shape.guard_cols.empty()) return {};
  const std::string cols = ColumnNames(rel, shape.guard_cols);
  const std::string table = TargetTable(rel).Display();
  const std::string fix = "on the target run ALTER TABLE " + TargetTable(rel).Quoted() + " ALTER COLUMN " +
                          pg::QuoteIdent(rel.columns[shape.guard_cols.front()].name) +
                          " SET GENERATED BY DEFAULT for the migration (set it back to ALWAYS at cutover), then "
                          "rerun walferry cdc";
  if (shape.identity_changed) {
    return {"the source changed the GENERATED ALWAYS identity column " + cols + " of " + table +
                " (old and new values differ), which an UPDATE on the target can only set to DEFAULT; not applied",
            fix};
  }
  return {"no target row matched the change's replica identity together with the new value of the GENERATED "
          "ALWAYS identity column " + cols + " of " + table + "; exactly 1 must",
          "either the source changed " + cols + " (UPDATE ... SET ... = DEFAULT), which an UPDATE on the target "
          "cannot reproduce: " + fix + "; or the target differs from the source for this row: run walferry validate"};
}

StatementShape ShapeFor(const Relation& rel, const Delete& change, const TargetDescription& target) {
  StatementShape s;
  s.kind = ChangeKind::kDelete;
  IdentityFrom(rel, change.old, change.old.tuple, target, s);
  return s;
}

}  // namespace walferry::cdc
