// cdc/statement_builder.h
//
// Builds the parameterised SQL that applies one row change on the target. Pure: no I/O. Every identifier goes
// through pg::QuoteIdent / TableName::Quoted(); every value is a text parameter ($1..), passed exactly as the
// source sent it, so the target's input function sees the bytes the source's output function produced.
//
// Shapes (docs/cdc.md "How a change becomes SQL"):
//   INSERT INTO t (cols) OVERRIDING SYSTEM VALUE VALUES ($1..)     -- identity ALWAYS columns keep source values
//   UPDATE t SET a = $1, ... WHERE k = $n AND ...                  -- replica identity key (PK / USING INDEX)
//   DELETE FROM t WHERE k = $1 AND ...
//   With REPLICA IDENTITY FULL the row is found by all old values with IS NOT DISTINCT FROM, and exactly ONE
//   row is touched even when identical duplicates exist: a CTE picks one (tableoid, ctid) with LIMIT 1.
// GENERATED ALWAYS identity columns of the TARGET (the Relation message does not say which; the caller looks them
// up, see cdc/target_columns.h) are never in an UPDATE's SET list (the target would reject it: 428C9). When the
// source may have changed one (only possible with UPDATE ... SET n = DEFAULT), it is a guard in the WHERE with the
// NEW value (`AND n = $k`): a changed value matches no row, and the caller's "exactly one row" check fails loudly
// (ExplainNoRow says why) instead of a silently different row on the target.
// Parameters: the SET columns' values first (in set_cols order), then the WHERE columns' values (old tuple when one
// was sent, else the new tuple), then the guard columns' values (always the NEW tuple).
#pragma once

#include <string>
#include <vector>

#include "cdc/pgoutput_messages.h"
#include "pg/quote.h"

namespace walferry::cdc {

enum class ChangeKind : char { kInsert = 'I', kUpdate = 'U', kDelete = 'D' };

struct StatementShape {
  ChangeKind kind = ChangeKind::kInsert;
  std::vector<int> set_cols;    // column indexes of the Relation written (INSERT columns / UPDATE SET list)
  std::vector<int> where_cols;  // column indexes that identify the row (UPDATE / DELETE)
  // UPDATE: target GENERATED ALWAYS identity columns left out of SET and compared with the NEW tuple's value.
  std::vector<int> guard_cols;
  // UPDATE with no column to write: SET touch_col = touch_col (no parameter), so the row count is still checked.
  int touch_col = -1;
  bool full_identity = false;     // where_cols are a whole old row: IS NOT DISTINCT FROM + one-row CTE
  bool identity_changed = false;  // a guard column's old value is known and differs from the new: matches no row

  // A compact cache key: kind, flags, touch_col and the three column lists.
  std::string Key() const;
};

// What "no target row matched" means for an UPDATE of `shape`. Empty when the shape has no guard column (the
// caller's generic message applies).
struct NoRowExplanation {
  std::string message;
  std::string hint;
};
NoRowExplanation ExplainNoRow(const Relation& rel, const StatementShape& shape);

struct BuiltStatement {
  std::string sql;
  int nparams = 0;
};

pg::TableName TargetTable(const Relation& rel);

// Throws Error(kInternal) on an empty INSERT column list or an UPDATE/DELETE without WHERE columns.
BuiltStatement BuildStatement(const Relation& rel, const StatementShape& shape);

// The shape that applies `change` (Insert, Update or Delete) to `rel`. Columns sent as unchanged TOAST ('u') are
// left out of SET lists and WHERE lists. Throws Error(kData) naming the table when the change carries nothing
// that identifies the row (REPLICA IDENTITY NOTHING) or when an INSERT carries an unchanged-TOAST column.
StatementShape ShapeFor(const Relation& rel, const Insert& change);
// always_identity: indexes into rel.columns of the TARGET's GENERATED ALWAYS identity columns, ascending.
StatementShape ShapeFor(const Relation& rel, const Update& change, const std::vector<int>& always_identity);
StatementShape ShapeFor(const Relation& rel, const Delete& change);

}  // namespace walferry::cdc
