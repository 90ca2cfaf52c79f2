// control/control_schema.h
//
// walferry's state lives on the TARGET in one schema (default "walferry"; config control.schema): replication
// sets with their slot, publication and CDC start LSN; load progress; the CDC checkpoint; the status table;
// apply exceptions; validation failures. Layout: src/sql/control/schema.sql. Every command that needs state reads
// it here, so load, cdc, status and validate agree. Not thread-safe per Connection (one Connection per thread).
#pragma once

#include <optional>
#include <string>

#include "common/lsn.h"
#include "pg/connection.h"

namespace walferry::control {

// Slot and publication names for a set: "walferry_<set>" (set names are validated to [a-z0-9_]{1,40}).
std::string SlotName(const std::string& set_name);
std::string PublicationName(const std::string& set_name);
// Throws Error(kConfig) unless the name is 1-54 characters of [a-z0-9_].
void ValidateSetName(const std::string& set_name);

class ControlSchema {
 public:
  // schema: the unquoted schema name.
  ControlSchema(pg::Connection& target, std::string schema);

  // Creates the schema and tables if missing (idempotent).
  void Ensure();
  bool Exists();
  // "schema".table for SQL.
  std::string Table(const std::string& table) const;

  struct SetRow {
    std::string set_name;
    std::string slot_name;
    std::string publication_name;
    std::string snapshot_name;
    Lsn start_lsn;
    std::string load_state;
  };
  std::optional<SetRow> GetSet(const std::string& set_name);
  void UpsertSet(const SetRow& row);
  void SetLoadState(const std::string& set_name, const std::string& state);

  // The CDC checkpoint; nullopt before the first applied transaction.
  std::optional<Lsn> GetCheckpoint(const std::string& set_name);
  // The checkpoint upsert; parameters: set name, applied LSN (text), source commit time (timestamptz text or NULL).
  static std::string CheckpointSql(const std::string& schema);
  // Writes the checkpoint through `conn` (the applier's connection, inside its open transaction).
  static void WriteCheckpoint(pg::Connection& conn, const std::string& schema, const std::string& set_name, Lsn lsn,
                              const std::string& commit_time_iso);

  void SetStatus(const std::string& set_name, const std::string& task_status, const std::string& last_error = "");

  const std::string& schema() const { return schema_; }
  pg::Connection& connection() { return conn_; }

 private:
  pg::Connection& conn_;
  std::string schema_;
};

}  // namespace walferry::control
