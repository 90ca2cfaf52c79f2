#include "assess/server_facts.h"

#include "sql/sql.h"

namespace walferry::assess {

ServerFacts GatherServerFacts(pg::Connection& conn) {
  pg::Result r = WithContext("reading server facts from " + conn.role(),
                             [&] { return conn.Exec(sql::Get("server_facts")); });
  if (r.rows() != 1) throw Error(ErrorKind::kInternal, "server facts query returned no row for the current role");
  ServerFacts f;
  f.server_version = std::string(r.Get(0, r.Column("server_version")));
  f.server_version_num = static_cast<int>(r.GetInt(0, r.Column("server_version_num")));
  f.wal_level = std::string(r.Get(0, r.Column("wal_level")));
  f.role_name = std::string(r.Get(0, r.Column("role_name")));
  f.database = std::string(r.Get(0, r.Column("database_name")));
  f.is_superuser = r.GetBool(0, r.Column("is_superuser"));
  f.has_replication = r.GetBool(0, r.Column("has_replication"));
  f.can_create_in_database = r.GetBool(0, r.Column("can_create_in_database"));
  f.slots_used = static_cast<int>(r.GetInt(0, r.Column("slots_used")));
  f.max_replication_slots = static_cast<int>(r.GetInt(0, r.Column("max_replication_slots")));
  f.max_wal_senders = static_cast<int>(r.GetInt(0, r.Column("max_wal_senders")));
  return f;
}

nlohmann::json ToJson(const ServerFacts& f) {
  return {{"server_version", f.server_version},
          {"server_version_num", f.server_version_num},
          {"wal_level", f.wal_level},
          {"role", f.role_name},
          {"database", f.database},
          {"superuser", f.is_superuser},
          {"replication", f.has_replication},
          {"can_create_replication_slots", f.CanCreateReplicationSlots()},
          {"can_create_publications", f.CanCreatePublications()},
          {"can_create_schemas_and_tables", f.CanCreateSchemasAndTables()},
          {"replication_slots_used", f.slots_used},
          {"max_replication_slots", f.max_replication_slots},
          {"max_wal_senders", f.max_wal_senders}};
}

}  // namespace walferry::assess
