#include "control/publication.h"

#include "common/error.h"

namespace walferry::control {

std::string CreatePublicationSql(const std::string& publication, const std::vector<pg::TableName>& tables,
                                 const pg::ServerFeatures& server) {
  if (tables.empty()) {
    throw Error(ErrorKind::kInternal, "publication " + publication + " would have no tables");
  }
  std::string sql = "CREATE PUBLICATION " + pg::QuoteIdent(publication) + " FOR TABLE ";
  for (size_t i = 0; i < tables.size(); ++i) sql += (i == 0 ? "" : ", ") + tables[i].Quoted();
  if (server.publish_via_partition_root) sql += " WITH (publish_via_partition_root = true)";
  return sql;
}

}  // namespace walferry::control
