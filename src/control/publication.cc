#include "control/publication.h"

#include <algorithm>

#include "common/error.h"
#include "sql/sql.h"

namespace walferry::control {

std::string CreatePublicationSql(const std::string& publication, const std::vector<PublishedTable>& tables,
                                 const pg::ServerFeatures& server, GeneratedColumns generated) {
  if (tables.empty()) {
    throw Error(ErrorKind::kInternal, "publication " + publication + " would have no tables");
  }
  if (generated == GeneratedColumns::kStored && !server.publish_generated_columns) {
    throw Error(ErrorKind::kInternal, "publication " + publication + ": PostgreSQL " + std::to_string(server.major) +
                                          " cannot publish generated columns (18+)");
  }
  std::string sql = "CREATE PUBLICATION " + pg::QuoteIdent(publication) + " FOR TABLE ";
  for (size_t i = 0; i < tables.size(); ++i) {
    // ONLY: a legacy-inheritance parent without its descendants (header); harmless on a table without any.
    sql += std::string(i == 0 ? "" : ", ") + (tables[i].partitioned ? "" : "ONLY ") + tables[i].name.Quoted();
  }
  std::vector<std::string> options;
  if (server.publish_via_partition_root) options.push_back("publish_via_partition_root = true");
  if (generated == GeneratedColumns::kStored) options.push_back("publish_generated_columns = stored");
  for (size_t i = 0; i < options.size(); ++i) sql += (i == 0 ? " WITH (" : ", ") + options[i];
  if (!options.empty()) sql += ")";
  return sql;
}

std::vector<pg::TableName> PublicationMembers(pg::Connection& conn, const std::string& publication) {
  pg::Result r = conn.Exec(sql::Get("control/publication_members"), {pg::Param(publication)});
  std::vector<pg::TableName> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back({std::string(r.Get(i, 0)), std::string(r.Get(i, 1))});
  return out;
}

void CheckPublicationHoldsOnly(pg::Connection& conn, const std::string& publication, const std::string& set_name,
                               const std::vector<pg::TableName>& tables) {
  std::vector<pg::TableName> extra;
  WithContext("reading the tables of publication " + publication, [&] {
    for (pg::TableName& t : PublicationMembers(conn, publication)) {
      if (std::find(tables.begin(), tables.end(), t) == tables.end()) extra.push_back(std::move(t));
    }
  });
  if (extra.empty()) return;
  std::string names;
  for (const pg::TableName& t : extra) names += (names.empty() ? "" : ", ") + t.Display();
  throw Error(ErrorKind::kPrecondition, "publication " + publication + " of set '" + set_name + "' holds " +
                                            std::to_string(extra.size()) + " table(s) that are not in the set: " +
                                            names)
      .WithDetail("their changes would be applied by this set as well as by the set they belong to (twice), or "
                  "although no set carries them; a walferry older than this one named a legacy-inheritance parent "
                  "without ONLY, which put its children into the parent's publication")
      .WithHint("run walferry reset --yes: it drops every set's slot and publication and loads every set again from "
                "one new snapshot, with publications that hold their own tables only (walferry restart --set " +
                set_name + " is enough when no other set holds " + names + "). Dropping the tables from the "
                "publication is not: the slot would still decode the WAL it holds with the membership of then");
}

}  // namespace walferry::control
