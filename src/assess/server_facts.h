// assess/server_facts.h
//
// What a server is and what the connected role may do there: the facts `walferry ping` reports and later
// checks build on. Read-only: runs one catalog query (src/sql/server_facts.sql).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "pg/connection.h"

namespace walferry::assess {

struct ServerFacts {
  std::string server_version;  // e.g. "15.18 (Debian 15.18-0+deb12u1)"
  int server_version_num = 0;
  std::string wal_level;
  std::string role_name;
  std::string database;
  bool is_superuser = false;
  bool has_replication = false;         // REPLICATION attribute (or superuser)
  bool can_create_in_database = false;  // CREATE on the database: schemas, publications
  int slots_used = 0;
  int max_replication_slots = 0;
  int max_wal_senders = 0;

  // Source-side abilities.
  bool CanCreateReplicationSlots() const { return is_superuser || has_replication; }
  bool CanCreatePublications() const { return is_superuser || can_create_in_database; }
  // Target-side abilities: CREATE on the database allows CREATE SCHEMA; tables go into schemas it creates.
  bool CanCreateSchemasAndTables() const { return is_superuser || can_create_in_database; }
};

ServerFacts GatherServerFacts(pg::Connection& conn);
nlohmann::json ToJson(const ServerFacts& facts);

}  // namespace walferry::assess
