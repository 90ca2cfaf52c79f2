// cdc/target_columns.h
//
// What the pgoutput Relation message does not say about the TARGET table a relation is applied to: which of its
// columns are GENERATED ALWAYS identity columns (pg_attribute.attidentity = 'a' on the target). The statement
// builder leaves those out of UPDATE SET lists (docs/cdc.md "How a change becomes SQL"). And whether the target
// table is partitioned (the applier's TRUNCATE uses ONLY on every other table, docs/cdc.md "TRUNCATE").
//
// The apply connection is in pipeline mode and cannot run a catalog query between pipelined statements, so this
// class owns a separate small metadata connection to the target, opened on the first lookup and kept for later
// ones. Answers are cached per relation id until Forget() (a new Relation message for that id).
// Columns are matched by name; a target column the source does not send is irrelevant and ignored.
//
// Ownership: owns its connection. Thread safety: none; one per Applier.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cdc/pgoutput_messages.h"
#include "pg/connection.h"

namespace walferry::cdc {

class TargetColumns {
 public:
  // conninfo: the target; application_name names the metadata connection in pg_stat_activity.
  TargetColumns(std::string conninfo, std::string application_name);

  // Indexes into rel.columns of the target table's GENERATED ALWAYS identity columns, ascending. The first call
  // for a relation id queries the target (opening the connection if needed); throws Error (kConnection or the
  // server's error) with context when it cannot. The reference stays valid until Forget(rel.relation_id).
  const std::vector<int>& AlwaysIdentity(const Relation& rel);

  // Whether the target table is partitioned (relkind 'p'; false when it does not exist). Cached like the above.
  bool Partitioned(const Relation& rel);

  // Drops what is cached for `id` (its Relation message changed: the table may be another one now).
  void Forget(RelationId id) {
    cache_.erase(id.value);
    partitioned_.erase(id.value);
  }

 private:
  std::string conninfo_;
  std::string application_name_;
  std::optional<pg::Connection> conn_;
  std::unordered_map<uint32_t, std::vector<int>> cache_;  // relation id -> column indexes
  std::unordered_map<uint32_t, bool> partitioned_;        // relation id -> relkind 'p' on the target
};

// Indexes into rel.columns of the columns named in `names` (exact names), ascending; names rel lacks are ignored.
std::vector<int> ColumnIndexes(const Relation& rel, const std::vector<std::string>& names);

}  // namespace walferry::cdc
