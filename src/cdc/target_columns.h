// cdc/target_columns.h
//
// What the pgoutput Relation message does not say about the TARGET table a relation is applied to, read from the
// target's catalog (src/sql/cdc/target_description.sql, one query per relation) into a TargetDescription
// (cdc/statement_builder.h): relkind (ONLY unless partitioned), each column's type (placeholders are cast to it),
// the GENERATED ALWAYS identity columns (never in an UPDATE's SET list), the generated columns (never written; an
// 18 source may send their values, publish_generated_columns, which then only find the row), and the primary key
// or usable unique index (REPLICA IDENTITY FULL finds the row by it). docs/cdc.md "How a change becomes SQL".
//
// It also refuses a source column whose type the target column cannot carry exactly (the source ran ALTER COLUMN
// ... TYPE during CDC: the Relation message carries the new type oid and typmod): Error(kData) naming both types
// and the fix, unless the change is lossless (CarriesExactly). Only built-in types are checked (oid below
// 16384 on both sides: the same oid means the same type on every cluster); a column with an extension or user
// type on either side is not checked (the target's input function still rejects what it cannot read).
//
// The apply connection is in pipeline mode and cannot run a catalog query between pipelined statements, so this
// class owns a separate small metadata connection to the target (search_path = pg_catalog, so type names come
// back schema-qualified), opened on the first lookup and kept for later ones. Answers are cached per relation id
// until Forget() (a new Relation message for that id). Columns are matched by name; a target column the source
// does not send is irrelevant and ignored.
//
// Ownership: owns its connection. Thread safety: none; one per Applier.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cdc/pgoutput_messages.h"
#include "cdc/statement_builder.h"
#include "pg/connection.h"

namespace walferry::cdc {

class TargetColumns {
 public:
  // conninfo: the target; application_name names the metadata connection in pg_stat_activity.
  TargetColumns(std::string conninfo, std::string application_name);

  // The target table `rel` is applied to. The first call for a relation id queries the target (opening the
  // connection if needed); throws Error (kConnection or the server's error) with context when it cannot, and
  // Error(kData) when a source column's type cannot be carried exactly. The reference stays valid until
  // Forget(rel.relation_id).
  const TargetDescription& Describe(const Relation& rel);

  // Whether the target table is partitioned (relkind 'p'; the applier's TRUNCATE uses ONLY on every other one).
  bool Partitioned(const Relation& rel) { return Describe(rel).relkind == 'p'; }

  // The target tables that reference `table` by a foreign key, other than itself (src/sql/cdc/target_referencing.sql):
  // those a TRUNCATE of it would need CASCADE for. Asked at each TRUNCATE (rare), not cached.
  std::vector<pg::TableName> ReferencingTables(const pg::TableName& table);

  // Drops what is cached for `id` (its Relation message changed: the table may be another one now).
  void Forget(RelationId id) { cache_.erase(id.value); }

 private:
  void Connect();

  std::string conninfo_;
  std::string application_name_;
  std::optional<pg::Connection> conn_;
  std::unordered_map<uint32_t, TargetDescription> cache_;  // relation id -> description
  uint64_t generations_ = 0;
};

// Indexes into rel.columns of the columns named in `names` (exact names), ascending; names rel lacks are ignored.
std::vector<int> ColumnIndexes(const Relation& rel, const std::vector<std::string>& names);

// Whether a target column of (built-in) type `target` with typmod `target_typmod` stores every value of source type
// `source` / `source_typmod` exactly as the source's text output has it: the same type with the same, a wider or
// no typmod (numeric: the same scale and at least as many integer digits; char(n) and bit(n): the same n), or a
// lossless widening (int2 -> int4 -> int8, float4 -> float8, varchar/char/text -> text or unconstrained varchar,
// an integer -> unconstrained numeric). Types at or above oid 16384 on either side: true (not checked).
bool CarriesExactly(TypeOid source, int32_t source_typmod, TypeOid target, int32_t target_typmod);

}  // namespace walferry::cdc
