// plan/pglogical_sets.h
//
// Reads pglogical's replication sets from the source, so `walferry plan --from-pglogical` can turn them into
// walferry sets. Read-only: two catalog queries. Does not interpret the sets (which tables walferry carries and
// how sets become config is plan's decision).
#pragma once

#include <string>
#include <vector>

#include "pg/connection.h"
#include "pg/quote.h"

namespace walferry::plan {

struct PglogicalSet {
  std::string name;                   // pglogical's set name, as stored
  std::vector<pg::TableName> tables;  // in (schema, name) order
};

// The sets that hold at least one table, in name order. Throws Error(kPrecondition) when the source database does
// not have the pglogical extension.
[[nodiscard]] std::vector<PglogicalSet> ReadPglogicalSets(pg::Connection& source);

}  // namespace walferry::plan
