#include "control/control_schema.h"

#include <fmt/format.h>

#include "pg/quote.h"
#include "sql/sql.h"

namespace walferry::control {

uint32_t StableHash(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

MigrationNames NamesFor(pg::Connection& source, const std::string& migration_id) {
  return {std::string(source.Exec("SELECT current_database()").Get(0, 0)), migration_id};
}

std::string SlotName(const MigrationNames& names, const std::string& set_name) {
  if (names.migration_id.empty()) return "walferry_" + set_name;
  std::string set = set_name;
  if (set.size() > 45) set = set.substr(0, 36) + fmt::format("_{:08x}", StableHash(set_name));
  // The database's name and the id, apart: ("ab", "c") and ("a", "bc") must not meet.
  return fmt::format("walferry_{:08x}_", StableHash(names.source_database + '\0' + names.migration_id)) + set;
}

// The same as the slot's: a publication is per database, but one source database may feed two migrations.
std::string PublicationName(const MigrationNames& names, const std::string& set_name) {
  return SlotName(names, set_name);
}

void ValidateSetName(const std::string& set_name) {
  bool ok = !set_name.empty() && set_name.size() <= 48;
  for (char c : set_name) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (!ok) {
    throw Error(ErrorKind::kConfig, "invalid set name '" + set_name + "'")
        .WithHint("set names are 1-48 characters of a-z, 0-9 and _ (they name replication slots)");
  }
}

std::string WithSchema(std::string_view sql, const std::string& schema) {
  std::string out(sql);
  const std::string marker = "@SCHEMA@";
  std::string quoted = pg::QuoteIdent(schema);
  for (size_t pos = out.find(marker); pos != std::string::npos; pos = out.find(marker, pos + quoted.size())) {
    out.replace(pos, marker.size(), quoted);
  }
  return out;
}

ControlSchema::ControlSchema(pg::Connection& target, std::string schema) : conn_(target), schema_(std::move(schema)) {}

std::string ControlSchema::Table(const std::string& table) const {
  return pg::QuoteIdent(schema_) + "." + pg::QuoteIdent(table);
}

std::string ControlSchema::Sql(std::string_view name) const { return WithSchema(sql::Get(name), schema_); }

void ControlSchema::Ensure() {
  std::string ddl = Sql("control/schema");
  WithContext("creating walferry's control schema " + pg::QuoteIdent(schema_) + " on the target", [&] {
    pg::InTransaction(conn_, [&] {
      conn_.Exec(sql::Get("control/schema_lock"));
      conn_.Exec(ddl);
    });
  });
}

bool ControlSchema::Exists() {
  return conn_.Exec(sql::Get("control/table_exists"), {pg::Param(schema_), pg::Param("sets")})
      .GetBool(0, 0);
}

std::optional<std::string> ControlSchema::CutoverStep() {
  if (!conn_.Exec(sql::Get("control/table_exists"), {pg::Param(schema_), pg::Param("cutover")}).GetBool(0, 0)) {
    return std::nullopt;
  }
  pg::Result r = conn_.Exec("SELECT step FROM " + Table("cutover"));
  if (r.rows() == 0) return std::nullopt;
  return std::string(r.Get(0, 0));
}

std::optional<ControlSchema::SetRow> ControlSchema::GetSet(const std::string& set_name) {
  pg::Result r = conn_.Exec(Sql("control/get_set"), {pg::Param(set_name)});
  if (r.rows() == 0) return std::nullopt;
  SetRow row;
  row.set_name = std::string(r.Get(0, 0));
  row.slot_name = std::string(r.Get(0, 1));
  row.publication_name = std::string(r.Get(0, 2));
  row.snapshot_name = r.GetOpt(0, 3).value_or("");
  if (auto lsn = r.GetOpt(0, 4)) row.start_lsn = Lsn::Parse(*lsn);
  row.load_state = WithContext("reading set '" + set_name + "' from the control schema",
                               [&] { return ParseLoadState(r.Get(0, 5)); });
  row.external_load = r.GetBool(0, 6);
  return row;
}

void ControlSchema::UpsertSet(const SetRow& row) {
  conn_.Exec(Sql("control/upsert_set"),
             {pg::Param(row.set_name), pg::Param(row.slot_name), pg::Param(row.publication_name),
              row.snapshot_name.empty() ? pg::Param() : pg::Param(row.snapshot_name),
              row.start_lsn.valid() ? pg::Param(row.start_lsn.ToString()) : pg::Param(),
              pg::Param(ToString(row.load_state)), pg::Param(row.external_load ? "true" : "false")});
  conn_.Exec(Sql("control/record_source_objects"), {pg::Param(row.slot_name), pg::Param(row.publication_name)});
}

std::optional<std::string> ControlSchema::RecordedSlot(const std::string& set_name) {
  auto row = GetSet(set_name);
  return row ? std::optional<std::string>(row->slot_name) : std::nullopt;
}

std::optional<std::string> ControlSchema::RecordedPublication(const std::string& set_name) {
  auto row = GetSet(set_name);
  return row ? std::optional<std::string>(row->publication_name) : std::nullopt;
}

void ControlSchema::SetLoadState(const std::string& set_name, LoadState state) {
  conn_.Exec(Sql("control/set_load_state"), {pg::Param(set_name), pg::Param(ToString(state))});
}

void ControlSchema::DeleteSet(const std::string& set_name) {
  conn_.Exec(Sql("control/delete_set"), {pg::Param(set_name)});
}

std::optional<Lsn> ControlSchema::GetCheckpoint(const std::string& set_name) {
  pg::Result r = conn_.Exec(Sql("control/get_checkpoint"), {pg::Param(set_name)});
  if (r.rows() == 0) return std::nullopt;
  return Lsn::Parse(r.Get(0, 0));
}

std::string ControlSchema::CheckpointSql(const std::string& schema) {
  return WithSchema(sql::Get("control/write_checkpoint"), schema);
}

void ControlSchema::WriteCheckpoint(pg::Connection& conn, const std::string& schema, const std::string& set_name,
                                    Lsn lsn, const std::string& commit_time_iso) {
  conn.Exec(CheckpointSql(schema),
            {pg::Param(set_name), pg::Param(lsn.ToString()),
             commit_time_iso.empty() ? pg::Param() : pg::Param(commit_time_iso)});
}

void ControlSchema::SetStatus(const std::string& set_name, TaskState state, const std::string& last_error) {
  conn_.Exec(Sql("control/set_status"), {pg::Param(set_name), pg::Param(ToString(state)),
                                         last_error.empty() ? pg::Param() : pg::Param(last_error)});
}

}  // namespace walferry::control
