#include "control/set_status.h"

#include <string>

#include "control/control_schema.h"
#include "sql/sql.h"

namespace walferry::control {
namespace {

std::optional<double> OptDouble(const pg::Result& r, int row, const char* column) {
  auto v = r.GetOpt(row, r.Column(column));
  return v ? std::optional<double>(std::stod(*v)) : std::nullopt;
}

std::optional<Lsn> OptLsn(const std::optional<std::string>& text) {
  return text ? std::optional<Lsn>(Lsn::Parse(*text)) : std::nullopt;
}

std::optional<SlotFacts> ReadSlot(pg::Connection& source, const std::string& set_name) {
  pg::Result r = source.Exec(sql::Get("cdc/slot_info"), {pg::Param(SlotName(set_name))});
  if (r.rows() != 1) return std::nullopt;
  SlotFacts slot;
  slot.confirmed_lsn = OptLsn(r.GetOpt(0, 0));
  if (!r.IsNull(0, 1)) slot.retained_wal_bytes = r.GetInt(0, 1);
  slot.active = r.GetBool(0, 2);
  return slot;
}

}  // namespace

std::vector<SetStatusRow> ReadSetStatuses(pg::Connection& target, const std::string& schema,
                                          pg::Connection& source) {
  std::vector<SetStatusRow> out;
  if (!ControlSchema(target, schema).Exists()) return out;
  pg::Result r = target.Exec(WithSchema(sql::Get("control/set_statuses"), schema),
                             {pg::Param(std::to_string(kStaleStatusSeconds))});
  for (int i = 0; i < r.rows(); ++i) {
    SetStatusRow s;
    s.set_name = std::string(r.Get(i, r.Column("task_name")));
    WithContext("reading the status of set '" + s.set_name + "'", [&] {
      s.state = ParseTaskState(r.Get(i, r.Column("task_status")));
      s.status_time = std::string(r.Get(i, r.Column("status_time")));
      s.applied_lsn = OptLsn(r.GetOpt(i, r.Column("applied_lsn")));
      s.applied_commit_time = r.GetOpt(i, r.Column("applied_commit_time"));
      s.latency_seconds = OptDouble(r, i, "latency_seconds");
      s.rows_per_second = OptDouble(r, i, "rows_per_second");
      s.last_error = r.GetOpt(i, r.Column("last_error"));
      s.exceptions = r.GetInt(i, r.Column("exceptions"));
      s.slot = ReadSlot(source, s.set_name);
      s.running = IsRunning(s.state, r.GetBool(i, r.Column("fresh")), s.slot && s.slot->active);
    });
    out.push_back(std::move(s));
  }
  return out;
}

std::string DisplayState(const SetStatusRow& status) {
  std::string state = ToString(status.state);
  if (status.running || IsFinal(status.state)) return state;
  return "not running (last: " + state + ")";
}

}  // namespace walferry::control
