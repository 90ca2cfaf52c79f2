#include "control/set_status.h"

#include <algorithm>
#include <string>

#include "config/size.h"
#include "control/control_schema.h"
#include "pg/server_version.h"
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

}  // namespace

std::optional<SlotFacts> ReadSlot(pg::Connection& source, const std::string& slot_name) {
  pg::Result r = source.Exec(sql::Get("cdc/slot_info"), {pg::Param(slot_name)});
  if (r.rows() != 1) return std::nullopt;
  SlotFacts slot;
  slot.confirmed_lsn = OptLsn(r.GetOpt(0, 0));
  if (!r.IsNull(0, 1)) slot.retained_wal_bytes = r.GetInt(0, 1);
  slot.active = r.GetBool(0, 2);
  slot.wal_status = r.GetOpt(0, 3);
  if (!r.IsNull(0, 4)) slot.safe_wal_bytes = r.GetInt(0, 4);
  if (pg::FeaturesOf(source.ServerVersionNum()).slot_invalidation_reason) {
    slot.invalidation_reason = r.GetOpt(0, 5);
    if (!slot.active) slot.inactive_seconds = OptDouble(r, 0, "inactive_seconds");
  }
  return slot;
}

namespace {

// What an invalidation reason of pg_replication_slots (17+) means, for people; "" for a reason not known here.
std::string InvalidationMeaning(const std::string& reason) {
  if (reason == "wal_removed") return "the source removed WAL it still needed (max_slot_wal_keep_size)";
  if (reason == "idle_timeout") {
    return "nothing read it for longer than idle_replication_slot_timeout (PostgreSQL 18): keep walferry cdc "
           "running, or raise the setting on the source";
  }
  if (reason == "rows_removed") return "the source removed rows its decoding still needed";
  if (reason == "wal_level_insufficient") return "the source's wal_level was lowered below logical";
  return "";
}

}  // namespace

std::vector<std::string> SlotWarnings(const std::string& slot_name, const SlotFacts& slot,
                                      std::optional<double> unread_seconds, const SlotLimits& limits) {
  std::vector<std::string> out;
  const std::string slot_text = "slot " + slot_name;
  if (slot.invalidation_reason && !slot.invalidation_reason->empty()) {
    const std::string meaning = InvalidationMeaning(*slot.invalidation_reason);
    out.push_back(slot_text + " was invalidated by the source (" + *slot.invalidation_reason + ")" +
                  (meaning.empty() ? "" : ": " + meaning) +
                  "; CDC cannot continue from it: the set must be loaded again");
  } else if (slot.wal_status == "lost") {
    out.push_back(slot_text + " is lost: the source removed WAL it still needed (max_slot_wal_keep_size); CDC "
                              "cannot continue from it: the set must be loaded again");
  } else if (slot.wal_status == "unreserved" ||
             (slot.safe_wal_bytes && *slot.safe_wal_bytes < limits.wal_warn_bytes)) {
    out.push_back(slot_text + " will be invalidated by max_slot_wal_keep_size after " +
                  config::HumanSize(std::max<int64_t>(0, slot.safe_wal_bytes.value_or(0))) +
                  " more WAL: let CDC catch up, or raise max_slot_wal_keep_size on the source");
  }
  if (slot.retained_wal_bytes && *slot.retained_wal_bytes > limits.wal_warn_bytes) {
    out.push_back(slot_text + " retains " + config::HumanSize(*slot.retained_wal_bytes) +
                  " of WAL on the source (warning above " + config::HumanSize(limits.wal_warn_bytes) +
                  "): the source keeps it until CDC confirms it; run CDC, or drop the slot with walferry cleanup "
                  "if the migration is abandoned");
  }
  if (unread_seconds && *unread_seconds > limits.unread_seconds) {
    out.push_back(slot_text + " has not been read for " + std::to_string(static_cast<int64_t>(*unread_seconds / 60)) +
                  " minutes: no walferry cdc runs for it, and it retains WAL meanwhile; start CDC, or drop the "
                  "slot with walferry cleanup if the migration is abandoned");
  }
  return out;
}

std::vector<std::string> SetWarnings(const SetStatusRow& status, const SlotLimits& limits) {
  if (!status.slot) return {};
  std::optional<double> unread;
  // The source's own word where it has one (17+); else how long walferry's status row has not been written.
  if (!status.slot->active) unread = status.slot->inactive_seconds.value_or(status.status_age_seconds);
  return SlotWarnings(status.slot_name, *status.slot, unread, limits);
}

std::vector<SetStatusRow> ReadSetStatuses(pg::Connection& target, const std::string& schema,
                                          pg::Connection& source) {
  std::vector<SetStatusRow> out;
  ControlSchema control(target, schema);
  if (!control.Exists()) return out;
  pg::Result r = target.Exec(WithSchema(sql::Get("control/set_statuses"), schema),
                             {pg::Param(std::to_string(kStaleStatusSeconds))});
  for (int i = 0; i < r.rows(); ++i) {
    SetStatusRow s;
    s.set_name = std::string(r.Get(i, r.Column("task_name")));
    WithContext("reading the status of set '" + s.set_name + "'", [&] {
      s.state = ParseTaskState(r.Get(i, r.Column("task_status")));
      s.status_time = std::string(r.Get(i, r.Column("status_time")));
      s.status_age_seconds = std::stod(std::string(r.Get(i, r.Column("status_age_seconds"))));
      s.applied_lsn = OptLsn(r.GetOpt(i, r.Column("applied_lsn")));
      s.applied_commit_time = r.GetOpt(i, r.Column("applied_commit_time"));
      s.latency_seconds = OptDouble(r, i, "latency_seconds");
      s.rows_per_second = OptDouble(r, i, "rows_per_second");
      s.last_error = r.GetOpt(i, r.Column("last_error"));
      s.exceptions = r.GetInt(i, r.Column("exceptions"));
      s.slot_name = control.RecordedSlot(s.set_name).value_or("");
      if (!s.slot_name.empty()) s.slot = ReadSlot(source, s.slot_name);
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
