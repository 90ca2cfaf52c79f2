// cdc/statement_builder.h
//
// Builds the parameterised SQL that applies one row change on the target. Pure: no I/O. Every identifier goes
// through pg::QuoteIdent / TableName::Quoted(); every value is a text parameter ($1..), passed exactly as the
// source sent it, so the target's input function sees the bytes the source's output function produced.
//
// Shapes (docs/cdc.md "How a change becomes SQL"):
//   INSERT INTO t (cols) OVERRIDING SYSTEM VALUE VALUES ($1::type, ..)  -- identity ALWAYS columns keep source values
//   UPDATE ONLY t SET a = $1::type, ... WHERE k = $n::type AND ...       -- replica identity key (PK / USING INDEX)
//   DELETE FROM ONLY t WHERE k = $1::type AND ...
//   With REPLICA IDENTITY FULL the row must be IDENTICAL to the old tuple, not merely equal (numeric 1.0 vs 1.00,
//   float8 0 vs -0, interval '1 day' vs '24:00:00', NFC vs NFD text under a nondeterministic collation): the
//   whole old image is compared with the record image operator, ROW(cols)::record *= ROW($n::type, ..)::record
//   (binary images, NULL matches NULL, works for types without `=` such as json, xml, point, jsonpath).
//   - When the TARGET has a primary key or a usable unique index (TargetDescription::unique_key) whose columns the
//     old tuple carries, the row is found by it (`k = $n::type AND <image>`: an index scan, at most one row).
//   - Otherwise exactly ONE row is touched even when identical duplicates exist: a CTE picks one
//     (tableoid, ctid) with LIMIT 1 (a sequential scan of the target table).
// Every placeholder is cast to the TARGET column's type ($1::"s"."t", TargetDescription::types), so parameters of
// composite types, jsonpath etc. resolve; a column whose target type is unknown keeps an untyped placeholder.
// UPDATE and DELETE use ONLY unless the target is a partitioned table (relkind 'p'): a legacy inheritance parent's
// children are never touched; a partitioned root keeps routing (rows may move between partitions).
// GENERATED ALWAYS identity columns of the TARGET (the Relation message does not say which; the caller looks them
// up, see cdc/target_columns.h) are never in an UPDATE's SET list (the target would reject it: 428C9). When the
// source may have changed one (only possible with UPDATE ... SET n = DEFAULT), it is a guard in the WHERE with the
// NEW value (`AND n = $k`): a changed value matches no row, and the caller's "exactly one row" check fails loudly
// (ExplainNoRow says why) instead of a silently different row on the target.
// Generated columns of the TARGET (TargetDescription::generated: GENERATED ALWAYS AS (...) STORED or VIRTUAL) are
// never written, neither in an INSERT's column list nor in an UPDATE's SET list (the target computes them and
// refuses a value: 428C9). pgoutput sends none before PostgreSQL 18; an 18 source whose publication has
// publish_generated_columns = stored (control/publication.h) sends every stored one, in the new tuple, in a key
// ('K') old tuple when the replica identity includes one, and in a FULL ('O') old image. Their values then only
// find the row: in the WHERE like any other identity column (`g = $n`, or within the FULL record image, where
// the target's value is computed by the same immutable expression from the same inputs). An UPDATE that changes
// the columns a generated key column derives from arrives with the old key and is matched by it; the target
// recomputes the new value. A generated column sent as unchanged TOAST is left out like any other.
// Parameters: the SET columns' values first (in set_cols order), then the WHERE columns' values (old tuple when one
// was sent, else the new tuple), then the guard columns' values (always the NEW tuple).
#pragma once

#include <string>
#include <vector>

#include "cdc/pgoutput_messages.h"
#include "pg/quote.h"

namespace walferry::cdc {

enum class ChangeKind : char { kInsert = 'I', kUpdate = 'U', kDelete = 'D' };

// What the builder needs to know about the TARGET table (read from the target's catalog by cdc/target_columns.h;
// the Relation message describes the SOURCE table). Column indexes are into the Relation's columns.
struct TargetDescription {
  bool found = false;  // the table exists on the target; false: nothing else is known (the apply then fails)
  char relkind = 'r';  // pg_class.relkind: 'p' partitioned, 'r' ordinary (maybe an inheritance parent), ...
  // Per Relation column: the target column's type as format_type(atttypid, -1) prints it (schema-qualified
  // unless in pg_catalog); empty when the target lacks the column or the table is unknown.
  std::vector<std::string> types;
  std::vector<int> always_identity;  // GENERATED ALWAYS identity columns, ascending
  std::vector<int> generated;        // generated columns (stored or virtual): never written, ascending
  // The columns of the target's primary key, else of its smallest usable unique index (valid, immediate, not
  // partial, no expression, every column NOT NULL), ascending; empty when there is none or the Relation lacks
  // one of its columns.
  std::vector<int> unique_key;

  // Distinct for every description read (TargetColumns numbers them): relkind and types change the SQL beyond
  // the shape, so a statement cache keys on this too.
  uint64_t generation = 0;
};

struct StatementShape {
  ChangeKind kind = ChangeKind::kInsert;
  std::vector<int> set_cols;    // column indexes of the Relation written (INSERT columns / UPDATE SET list)
  std::vector<int> where_cols;  // column indexes that identify the row (UPDATE / DELETE)
  // UPDATE: target GENERATED ALWAYS identity columns left out of SET and compared with the NEW tuple's value.
  std::vector<int> guard_cols;
  // UPDATE with no column to write: SET touch_col = touch_col (no parameter), so the row count is still checked.
  int touch_col = -1;
  bool full_identity = false;     // where_cols are a whole old row: record image comparison
  // full_identity: the target's unique key columns (all in where_cols) to find the row by; empty: one-row CTE.
  std::vector<int> key_cols;
  bool identity_changed = false;  // a guard column's old value is known and differs from the new: matches no row

  // A compact cache key: kind, flags, touch_col and the four column lists.
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
BuiltStatement BuildStatement(const Relation& rel, const TargetDescription& target, const StatementShape& shape);

// The shape that applies `change` (Insert, Update or Delete) to `rel`. Columns sent as unchanged TOAST ('u') are
// left out of SET lists and WHERE lists; target.generated columns out of INSERT and SET lists. Throws Error(kData)
// naming the table when the change carries nothing that identifies the row (REPLICA IDENTITY NOTHING) or when an
// INSERT carries an unchanged-TOAST column.
// UPDATE and DELETE use target.unique_key under REPLICA IDENTITY FULL; UPDATE leaves target.always_identity out.
StatementShape ShapeFor(const Relation& rel, const Insert& change, const TargetDescription& target);
StatementShape ShapeFor(const Relation& rel, const Update& change, const TargetDescription& target);
StatementShape ShapeFor(const Relation& rel, const Delete& change, const TargetDescription& target);

}  // namespace walferry::cdc
