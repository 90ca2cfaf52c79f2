// control/publication.h
//
// A set's publication: the CREATE PUBLICATION statement for its tables, the same wherever walferry reads changes
// from (the source for a load, load/loader.cc; the target for a fallback, lifecycle/fallback.cc), and the check
// that an existing publication holds nothing outside its set (cdc/worker.cc, at each start).
// Partitioned tables are published through their root where the server can (13+:
// pg::ServerFeatures::publish_via_partition_root); PostgreSQL 12 has no such option and cannot publish a
// partitioned table at all, which the callers' preflights refuse before any statement is built.
// Every other table is named with ONLY: `FOR TABLE parent` adds each legacy-inheritance descendant of parent to
// the publication (pg_publication_rel), so a child planned into another set had its changes streamed by both
// sets' slots and applied twice. A partitioned table is never named with ONLY: its partitions are its rows, and
// PostgreSQL publishes them through it whatever the ONLY.
// Generated columns: pgoutput sends none before PostgreSQL 18; from 18 a publication sends every STORED generated
// column of its tables when created WITH (publish_generated_columns = stored) (never a VIRTUAL one). walferry asks
// for it only where a table's replica identity includes a (necessarily stored) generated column, so that its
// UPDATEs and DELETEs can be matched on the target (assess::GeneratedIdentityColumn; the callers decide per set):
// the parameter is per publication, so every stored generated column of the set's tables is then sent, and the
// apply matches rows by them but never writes a column the target generates (cdc/statement_builder.h). Other sets
// do not carry those values (a stored tsvector or a large derived text would double what the slot sends).
#pragma once

#include <string>
#include <vector>

#include "pg/connection.h"
#include "pg/quote.h"
#include "pg/server_version.h"

namespace walferry::control {

// One table of a publication: its name and whether it is partitioned (relkind 'p').
struct PublishedTable {
  pg::TableName name;
  bool partitioned = false;
};

// Whether the publication sends stored generated columns (publish_generated_columns, 18+).
enum class GeneratedColumns { kNone, kStored };

// `publication` unquoted; every name is quoted in the statement. `server`: the features of the server the
// publication is created on (pg::FeaturesOf its server_version_num). Throws Error(kInternal) when `tables` is
// empty (a publication FOR TABLE needs at least one; callers never make an empty set), or when `generated` is
// kStored and the server is older than 18 (the callers' preflights refuse such a table before).
std::string CreatePublicationSql(const std::string& publication, const std::vector<PublishedTable>& tables,
                                 const pg::ServerFeatures& server, GeneratedColumns generated);

// The tables `publication` holds by name (pg_publication_rel: what FOR TABLE / ADD TABLE put there, including
// the descendants a FOR TABLE without ONLY added; not the partitions a partitioned member publishes), in
// (schema, name) order. Empty when the publication does not exist.
std::vector<pg::TableName> PublicationMembers(pg::Connection& conn, const std::string& publication);

// Throws Error(kPrecondition) naming them when `publication` (of set `set_name`) holds tables that are not in
// `tables`, the set's tables: their changes would be applied by this set as well as by the set they belong to
// (twice), or applied although no set carries them. A publication made by walferry before it wrote ONLY (a
// legacy-inheritance parent's publication held its children) is the known way to get there. The hint says how
// to make the publications anew (walferry reset, or restart of the set when no other set holds those tables).
void CheckPublicationHoldsOnly(pg::Connection& conn, const std::string& publication, const std::string& set_name,
                               const std::vector<pg::TableName>& tables);

}  // namespace walferry::control
