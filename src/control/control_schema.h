// control/control_schema.h
//
// walferry's state lives on the TARGET in one schema (default "walferry"; config control.schema): replication
// sets with their slot, publication and CDC start LSN; load progress; the CDC checkpoint; the status table;
// apply exceptions; validation failures. Layout: src/sql/control/schema.sql; every query on it is a file in
// src/sql/control/. Every command that needs state reads it here (and a set's CDC status through
// control/set_status.h), so load, cdc, status and validate agree. States are enums (control/states.h).
// Not thread-safe per Connection (one Connection per thread).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/lsn.h"
#include "control/states.h"
#include "pg/connection.h"

namespace walferry::control {

// Whose slots and publications they are. Slot names are cluster-wide and publication names per database, so two
// migrations of one source cluster (two databases of it, or one database into two targets) must never share one:
// walferry would read, drop or advise dropping the other's. A name is derived from the source database and the
// migration id (walferry.yaml `migration_id`, written by walferry plan) together with the set name:
//   walferry_<tag>_<set>, tag: 8 hex digits of a stable hash (FNV-1a) of the source database and the migration id;
//   a set name over 45 characters is cut to 36 and followed by 8 hex digits of its own hash: at most 63 bytes
//   (NAMEDATALEN - 1), only [a-z0-9_] (set names are validated to [a-z0-9_]{1,48}: their apply session's
//   application_name "walferry_apply_<set>" must fit 63 bytes).
// Without a migration id (a walferry.yaml from before it), the names stay "walferry_<set>" as they always were, so
// a migration in flight keeps its slots; such names are cluster-wide (walferry load warns, docs/config.md).
struct MigrationNames {
  std::string source_database;
  std::string migration_id;  // empty: the names of a configuration without one
};
// The names for the database `source` is connected to (one round trip).
MigrationNames NamesFor(pg::Connection& source, const std::string& migration_id);
std::string SlotName(const MigrationNames& names, const std::string& set_name);
std::string PublicationName(const MigrationNames& names, const std::string& set_name);
// FNV-1a, 32 bits: the same on every platform and build (std::hash is not); names must be found again later.
uint32_t StableHash(const std::string& s);
// Throws Error(kConfig) unless the name is 1-48 characters of [a-z0-9_].
void ValidateSetName(const std::string& set_name);

// Replaces every @SCHEMA@ in sql (a src/sql/ query) with the quoted schema name.
std::string WithSchema(std::string_view sql, const std::string& schema);

class ControlSchema {
 public:
  // schema: the unquoted schema name.
  ControlSchema(pg::Connection& target, std::string schema);

  // Creates the schema and tables if missing (idempotent).
  void Ensure();
  bool Exists();
  // walferry cutover's last recorded step (lifecycle/cutover.h): nullopt when no cutover was ever started here.
  std::optional<std::string> CutoverStep();
  // "schema".table for SQL.
  std::string Table(const std::string& table) const;

  struct SetRow {
    std::string set_name;
    std::string slot_name;
    std::string publication_name;
    std::string snapshot_name;
    Lsn start_lsn;
    LoadState load_state = LoadState::kPending;
    bool external_load = false;  // walferry load --cdc-start-lsn: the user loaded the tables
  };
  // Throws Error(kData) when the row's load_state is not one this version knows.
  std::optional<SetRow> GetSet(const std::string& set_name);
  // Also records the row's slot and publication names for good (table source_objects): `walferry cleanup
  // --orphans` drops only what this control schema once recorded (lifecycle/cleanup.h).
  void UpsertSet(const SetRow& row);
  // The set's slot and publication as recorded by its load (its row); nullopt without a row.
  std::optional<std::string> RecordedSlot(const std::string& set_name);
  std::optional<std::string> RecordedPublication(const std::string& set_name);
  void SetLoadState(const std::string& set_name, LoadState state);
  // Forgets the set entirely (after its slot and publication were dropped): its row, checkpoint, status row and
  // suspended tables.
  void DeleteSet(const std::string& set_name);

  // The CDC checkpoint; nullopt before the first applied transaction.
  std::optional<Lsn> GetCheckpoint(const std::string& set_name);
  // The checkpoint upsert; parameters: set name, applied LSN (text), source commit time (timestamptz text or NULL).
  static std::string CheckpointSql(const std::string& schema);
  // Writes the checkpoint through `conn` (the applier's connection, inside its open transaction).
  static void WriteCheckpoint(pg::Connection& conn, const std::string& schema, const std::string& set_name, Lsn lsn,
                              const std::string& commit_time_iso);

  // The set's status row outside CDC (e.g. FAILED by a load); a running CDC worker writes its own (cdc/status_writer).
  void SetStatus(const std::string& set_name, TaskState state, const std::string& last_error = "");

  const std::string& schema() const { return schema_; }
  pg::Connection& connection() { return conn_; }

 private:
  // The src/sql/ query `name` with this schema substituted.
  std::string Sql(std::string_view name) const;

  pg::Connection& conn_;
  std::string schema_;
};

}  // namespace walferry::control
