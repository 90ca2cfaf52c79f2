// load/preflight.h
//
// Everything `walferry load` checks before it changes anything: the servers, the sets and their tables, the
// slots and publications, the tables already on the target. Read-only on both servers. Failures are
// Error(kConfig) or Error(kPrecondition) (exit code 2) saying what is wrong and what to do.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "control/control_schema.h"
#include "load/loader.h"
#include "pg/connection.h"

namespace walferry::load {

struct ResolvedSet {
  std::string name;
  std::vector<catalog::TableInfo> tables;   // what is copied: plain tables and partitioned roots
  std::vector<pg::TableName> relations;     // what is created: the tables and every partition below them
  std::vector<uint32_t> relation_oids;      // source oids of `relations`
  std::vector<int64_t> sizes;               // per table: heap + TOAST bytes, partitions included
  std::set<pg::TableName> existing;         // relations already on the target
  std::optional<control::ControlSchema::SetRow> row;  // the set's state from an earlier run
  std::string slot_name;         // control::SlotName of this migration (LoadOptions::migration_id)
  std::string publication_name;  // control::PublicationName of this migration
  bool slot_exists = false;
  bool publication_exists = false;
  // Some table of the set (or a partition of one) has a replica identity that includes a stored generated column,
  // on an 18+ source: the set's publication sets publish_generated_columns = stored (control/publication.h).
  bool publish_generated_columns = false;
  // An earlier load of this set was interrupted and is being started over: its slot and publication are dropped.
  bool restart = false;
  // --resume and the set has a row: its earlier load is finished (loading, indexing) or skipped (loaded). A set
  // without a row is loaded from scratch under --resume too.
  bool resume = false;
};

// source/target: ordinary connections. Returns the sets to load, in configuration order.
std::vector<ResolvedSet> Preflight(const LoadOptions& options, pg::Connection& source, pg::Connection& target);

}  // namespace walferry::load
