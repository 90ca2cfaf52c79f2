// control/publication.h
//
// The CREATE PUBLICATION statement for a set's tables, the same wherever walferry reads changes from: the source
// for a load (load/loader.cc), the target for a fallback (lifecycle/fallback.cc). Pure: no I/O.
// Partitioned tables are published through their root where the server can (13+:
// pg::ServerFeatures::publish_via_partition_root); PostgreSQL 12 has no such option and cannot publish a
// partitioned table at all, which the callers' preflights refuse before any statement is built.
#pragma once

#include <string>
#include <vector>

#include "pg/quote.h"
#include "pg/server_version.h"

namespace walferry::control {

// `publication` unquoted; every name is quoted in the statement. `server`: the features of the server the
// publication is created on (pg::FeaturesOf its server_version_num). Throws Error(kInternal) when `tables` is
// empty (a publication FOR TABLE needs at least one; callers never make an empty set).
std::string CreatePublicationSql(const std::string& publication, const std::vector<pg::TableName>& tables,
                                 const pg::ServerFeatures& server);

}  // namespace walferry::control
