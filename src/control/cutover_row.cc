#include "control/cutover_row.h"

#include <sstream>

#include "common/error.h"
#include "common/log.h"
#include "control/control_schema.h"
#include "sql/sql.h"

namespace walferry::control {
namespace {

std::string Joined(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

}  // namespace

std::optional<CutoverRow> ReadCutoverRow(pg::Connection& conn, const std::string& schema) {
  if (!conn.Exec(sql::Get("control/table_exists"), {pg::Param(schema), pg::Param("cutover")}).GetBool(0, 0)) {
    return std::nullopt;
  }
  pg::Result r = conn.Exec(WithSchema(sql::Get("control/cutover_row"), schema));
  if (r.rows() == 0) return std::nullopt;
  CutoverRow row;
  row.step = std::string(r.Get(0, 0));
  row.source_database = std::string(r.Get(0, 1));
  if (auto lsn = r.GetOpt(0, 2)) row.final_lsn = Lsn::Parse(*lsn);
  row.sets_generation = std::string(r.Get(0, 3));
  std::istringstream words{std::string(r.Get(0, 4))};
  for (std::string w; words >> w;) row.options.push_back(w);
  if (auto downtime = r.GetOpt(0, 5)) row.downtime_seconds = std::stod(*downtime);
  row.finished_at = r.GetOpt(0, 6);
  return row;
}

std::string SetsGeneration(pg::Connection& target, const std::string& schema) {
  if (!ControlSchema(target, schema).Exists()) return "";
  return std::string(target.Exec(WithSchema(sql::Get("control/sets_generation"), schema)).Get(0, 0));
}

void RecordCutoverStart(pg::Connection& target, const std::string& schema, const std::vector<std::string>& options) {
  target.Exec(WithSchema(sql::Get("control/cutover_start"), schema),
              {pg::Param(Joined(options)), pg::Param(SetsGeneration(target, schema))});
}

bool ArchiveCutover(pg::Connection& conn, const std::string& schema, const std::string& by) {
  if (!ReadCutoverRow(conn, schema)) return false;
  pg::InTransaction(conn, [&] {
    // The database may be read-only for new sessions (a cutover stopped writes on it): walferry's own row moves.
    conn.Exec("SET TRANSACTION READ WRITE");
    // cutover_history, in a control schema made before it (as ControlSchema::Ensure, in this transaction).
    conn.Exec(sql::Get("control/schema_lock"));
    conn.Exec(WithSchema(sql::Get("control/schema"), schema));
    conn.Exec(WithSchema(sql::Get("control/cutover_archive"), schema), {pg::Param(by)});
  });
  return true;
}

void PrepareReload(pg::Connection& target, pg::Connection& source, const std::string& schema,
                   const std::string& command) {
  std::optional<CutoverRow> row = ReadCutoverRow(target, schema);
  if (!row) return;
  auto log = log::For("cutover");
  if (row->step == "aborted") {
    ArchiveCutover(target, schema, command);
    log->info("{}: the aborted cutover's row is kept in {}.cutover_history; the next cutover starts anew", command,
              schema);
    return;
  }
  if (row->InProgress()) {
    throw Error(ErrorKind::kPrecondition, "a cutover is in progress (last step " + row->step +
                                              "): the source database " + row->source_database +
                                              " may be READ-ONLY and the target is becoming the new primary")
        .WithDetail("nothing was changed: " + command + " would drop and load again tables the cutover is switching "
                    "to")
        .WithHint("finish it (walferry cutover continues where it stopped), or abort it first (walferry cutover "
                  "--abort makes the source writable again), then run " + command + " again");
  }
  // done: only a finished switch back (its own row on the old source) makes the source the primary again.
  std::optional<CutoverRow> back = ReadCutoverRow(source, schema);
  if (back && back->step == "done") {
    ArchiveCutover(source, schema, command);
    ArchiveCutover(target, schema, command);
    log->info("{}: the cutover and the switch back are complete; their rows are kept in {}.cutover_history on the "
              "target and the source, and the next cutover starts anew",
              command, schema);
    return;
  }
  if (back && back->InProgress()) {
    throw Error(ErrorKind::kPrecondition, "a switch back is in progress (last step " + back->step + ")")
        .WithDetail("nothing was changed: both databases may be read-only")
        .WithHint("finish it (walferry fallback --switch-back) or abort it (walferry fallback --switch-back --abort), "
                  "then run " + command + " again");
  }
  throw Error(ErrorKind::kPrecondition, "the cutover is complete" +
                                            (row->finished_at ? " (since " + *row->finished_at + ")" : std::string()) +
                                            ": the target is the new primary")
      .WithDetail("nothing was changed: " + command + " would drop tables the application now writes to")
      .WithHint("to give the source back the primary role, switch back first (walferry fallback --switch-back, after "
                "walferry cutover --fallback); if the application went back to the source another way, forget this "
                "migration on the target (walferry cleanup --control-schema) and load again");
}

}  // namespace walferry::control
