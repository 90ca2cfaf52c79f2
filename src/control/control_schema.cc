#include "control/control_schema.h"

#include "pg/quote.h"
#include "sql/sql.h"

namespace walferry::control {

std::string SlotName(const std::string& set_name) { return "walferry_" + set_name; }
std::string PublicationName(const std::string& set_name) { return "walferry_" + set_name; }

void ValidateSetName(const std::string& set_name) {
  bool ok = !set_name.empty() && set_name.size() <= 54;
  for (char c : set_name) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (!ok) {
    throw Error(ErrorKind::kConfig, "invalid set name '" + set_name + "'")
        .WithHint("set names are 1-54 characters of a-z, 0-9 and _ (they name replication slots)");
  }
}

ControlSchema::ControlSchema(pg::Connection& target, std::string schema) : conn_(target), schema_(std::move(schema)) {}

std::string ControlSchema::Table(const std::string& table) const {
  return pg::QuoteIdent(schema_) + "." + pg::QuoteIdent(table);
}

void ControlSchema::Ensure() {
  std::string ddl(sql::Get("control/schema"));
  const std::string marker = "@SCHEMA@";
  std::string quoted = pg::QuoteIdent(schema_);
  for (size_t pos = ddl.find(marker); pos != std::string::npos; pos = ddl.find(marker, pos + quoted.size())) {
    ddl.replace(pos, marker.size(), quoted);
  }
  WithContext("creating walferry's control schema " + quoted + " on the target", [&] {
    // Concurrent first runs (several sets starting at once) must not race on CREATE TABLE IF NOT EXISTS.
    pg::InTransaction(conn_, [&] {
      conn_.Exec("SELECT pg_advisory_xact_lock(hashtext('walferry control schema'))");
      conn_.Exec(ddl);
    });
  });
}

bool ControlSchema::Exists() {
  return conn_.Exec("SELECT to_regclass($1) IS NOT NULL", {pg::Param(Table("sets"))}).GetBool(0, 0);
}

std::optional<ControlSchema::SetRow> ControlSchema::GetSet(const std::string& set_name) {
  pg::Result r = conn_.Exec("SELECT set_name, slot_name, publication_name, snapshot_name, start_lsn::text, load_state "
                            "FROM " + Table("sets") + " WHERE set_name = $1",
                            {pg::Param(set_name)});
  if (r.rows() == 0) return std::nullopt;
  SetRow row;
  row.set_name = std::string(r.Get(0, 0));
  row.slot_name = std::string(r.Get(0, 1));
  row.publication_name = std::string(r.Get(0, 2));
  row.snapshot_name = r.GetOpt(0, 3).value_or("");
  if (auto lsn = r.GetOpt(0, 4)) row.start_lsn = Lsn::Parse(*lsn);
  row.load_state = std::string(r.Get(0, 5));
  return row;
}

void ControlSchema::UpsertSet(const SetRow& row) {
  conn_.Exec("INSERT INTO " + Table("sets") +
                 " (set_name, slot_name, publication_name, snapshot_name, start_lsn, load_state) "
                 "VALUES ($1, $2, $3, $4, $5::pg_lsn, $6) ON CONFLICT (set_name) DO UPDATE SET "
                 "slot_name = EXCLUDED.slot_name, publication_name = EXCLUDED.publication_name, "
                 "snapshot_name = EXCLUDED.snapshot_name, start_lsn = EXCLUDED.start_lsn, "
                 "load_state = EXCLUDED.load_state, updated_at = now()",
             {pg::Param(row.set_name), pg::Param(row.slot_name), pg::Param(row.publication_name),
              row.snapshot_name.empty() ? pg::Param() : pg::Param(row.snapshot_name),
              row.start_lsn.valid() ? pg::Param(row.start_lsn.ToString()) : pg::Param(), pg::Param(row.load_state)});
}

void ControlSchema::SetLoadState(const std::string& set_name, const std::string& state) {
  conn_.Exec("UPDATE " + Table("sets") + " SET load_state = $2, updated_at = now() WHERE set_name = $1",
             {pg::Param(set_name), pg::Param(state)});
}

std::optional<Lsn> ControlSchema::GetCheckpoint(const std::string& set_name) {
  pg::Result r = conn_.Exec("SELECT applied_lsn::text FROM " + Table("checkpoint") + " WHERE set_name = $1",
                            {pg::Param(set_name)});
  if (r.rows() == 0) return std::nullopt;
  return Lsn::Parse(r.Get(0, 0));
}

std::string ControlSchema::CheckpointSql(const std::string& schema) {
  return "INSERT INTO " + pg::QuoteIdent(schema) + ".checkpoint (set_name, applied_lsn, applied_commit_time) "
         "VALUES ($1, $2::pg_lsn, $3::timestamptz) ON CONFLICT (set_name) DO UPDATE SET "
         "applied_lsn = EXCLUDED.applied_lsn, applied_commit_time = EXCLUDED.applied_commit_time, updated_at = now()";
}

void ControlSchema::WriteCheckpoint(pg::Connection& conn, const std::string& schema, const std::string& set_name,
                                    Lsn lsn, const std::string& commit_time_iso) {
  conn.Exec(CheckpointSql(schema),
            {pg::Param(set_name), pg::Param(lsn.ToString()),
             commit_time_iso.empty() ? pg::Param() : pg::Param(commit_time_iso)});
}

void ControlSchema::SetStatus(const std::string& set_name, const std::string& task_status,
                              const std::string& last_error) {
  conn_.Exec("INSERT INTO " + Table("status") + " (task_name, task_status, status_time, last_error) "
                 "VALUES ($1, $2, now(), $3) ON CONFLICT (task_name) DO UPDATE SET task_status = EXCLUDED.task_status, "
                 "status_time = now(), last_error = EXCLUDED.last_error",
             {pg::Param(set_name), pg::Param(task_status), last_error.empty() ? pg::Param() : pg::Param(last_error)});
}

}  // namespace walferry::control
