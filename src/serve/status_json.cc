// serve/status_json.cc: walferry's status document (status_json.h), shared by `walferry status --json` and
// /api/status. Numbers are JSON numbers (latency and rows/s were text until 2026-12-07).
#include "serve/status_json.h"

#include <cmath>

#include "control/control_schema.h"
#include "control/set_status.h"
#include "lifecycle/fallback.h"
#include "pg/quote.h"
#include "sql/sql.h"

namespace walferry::serve {
namespace {

nlohmann::json OptJson(const std::optional<std::string>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }
nlohmann::json OptJson(const std::optional<Lsn>& v) { return v ? nlohmann::json(v->ToString()) : nlohmann::json(); }
// A JSON number (null when absent; JSON has no NaN or infinity, so those are null too).
nlohmann::json OptJson(const std::optional<double>& v) {
  return v && std::isfinite(*v) ? nlohmann::json(*v) : nlohmann::json();
}

void SlotJson(nlohmann::json& j, const std::optional<control::SlotFacts>& slot) {
  if (!slot) {
    j["slot_confirmed_lsn"] = "slot missing";
    return;
  }
  j["slot_confirmed_lsn"] = OptJson(slot->confirmed_lsn);
  j["slot_retained_wal_bytes"] = slot->retained_wal_bytes ? nlohmann::json(*slot->retained_wal_bytes) : nlohmann::json();
  j["slot_active"] = slot->active;
  j["slot_wal_status"] = OptJson(slot->wal_status);
  j["slot_safe_wal_bytes"] = slot->safe_wal_bytes ? nlohmann::json(*slot->safe_wal_bytes) : nlohmann::json();
}

nlohmann::json SuspendedTables(pg::Connection& target, const std::string& schema, const std::string& set) {
  nlohmann::json out = nlohmann::json::array();
  pg::Result su = target.Exec(control::WithSchema(sql::Get("cdc/list_suspended"), schema), {pg::Param(set)});
  for (int k = 0; k < su.rows(); ++k) {
    out.push_back({{"table", pg::TableName{std::string(su.Get(k, 0)), std::string(su.Get(k, 1))}.Display()},
                   {"since_lsn", std::string(su.Get(k, 2))},
                   {"suspended_at", std::string(su.Get(k, 3))},
                   {"error", std::string(su.Get(k, 4))}});
  }
  return out;
}

// One set's status as JSON; `control` holds its control schema (the target; the old source for the fallback).
nlohmann::json SetJson(const control::SetStatusRow& s, pg::Connection& control, const std::string& schema,
                       const control::SlotLimits& limits) {
  nlohmann::json j = {{"set", s.set_name},
                      {"state", control::DisplayState(s)},
                      {"running", s.running},
                      {"status_time", s.status_time},
                      {"applied_lsn", OptJson(s.applied_lsn)},
                      {"last_applied_commit_time", OptJson(s.applied_commit_time)},
                      {"latency_seconds", OptJson(s.latency_seconds)},
                      {"rows_per_second", OptJson(s.rows_per_second)},
                      {"last_error", OptJson(s.last_error)},
                      {"exceptions", s.exceptions}};
  SlotJson(j, s.slot);
  // Batch apply's counters (docs/cdc.md "Batch apply"); absent when the row has none (an older walferry wrote it).
  pg::Result b = control.Exec(control::WithSchema(sql::Get("cdc/batch_counters"), schema), {pg::Param(s.set_name)});
  if (b.rows() == 1 && !b.IsNull(0, 0)) {
    j["batch"] = {{"batches", b.GetInt(0, 0)},
                  {"rows_collapsed", b.GetInt(0, 1)},
                  {"replays", b.GetInt(0, 2)},
                  {"last_replay", b.IsNull(0, 3) ? nlohmann::json() : nlohmann::json(std::string(b.Get(0, 3)))},
                  {"pipelined", b.IsNull(0, 4) ? nlohmann::json() : nlohmann::json(b.GetInt(0, 4))},
                  {"pipeline_waits", b.IsNull(0, 5) ? nlohmann::json() : nlohmann::json(b.GetInt(0, 5))}};
  }
  // Streaming of large transactions (docs/cdc.md); absent when the row has none (an older walferry wrote it).
  pg::Result st = control.Exec(control::WithSchema(sql::Get("cdc/stream_counters"), schema), {pg::Param(s.set_name)});
  if (st.rows() == 1 && !st.IsNull(0, 0)) {
    j["streaming"] = {{"applied", st.GetInt(0, 0)},
                      {"applied_early", st.GetInt(0, 1)},
                      {"early_stopped", st.GetInt(0, 2)},
                      {"aborted", st.GetInt(0, 3)}};
  }
  // Made by walferry cdc; absent when cdc never ran with this version.
  bool has_suspended =
      control.Exec(sql::Get("control/table_exists"), {pg::Param(schema), pg::Param("suspended_tables")}).GetBool(0, 0);
  j["suspended_tables"] = has_suspended ? SuspendedTables(control, schema, s.set_name) : nlohmann::json::array();
  j["warnings"] = control::SetWarnings(s, limits);
  return j;
}

// After walferry cutover --fallback: the fallback set (its control schema on the old source, its slot on the
// target), also before walferry fallback ever ran, since its slot retains the target's WAL from the switch on.
std::optional<nlohmann::json> Fallback(pg::Connection& target, pg::Connection& old_source, const std::string& schema,
                                       const control::SlotLimits& limits) {
  const std::string name = lifecycle::FallbackSetName(target, old_source);
  control::ControlSchema control(old_source, schema);
  if (!control.Exists() || !control.GetSet(name)) return std::nullopt;
  for (const control::SetStatusRow& s : control::ReadSetStatuses(old_source, schema, target)) {
    if (s.set_name != name) continue;
    nlohmann::json j = SetJson(s, old_source, schema, limits);
    j["direction"] = "fallback";
    return j;
  }
  const std::string slot_name = control.RecordedSlot(name).value_or("");
  std::optional<control::SlotFacts> slot = control::ReadSlot(target, slot_name);
  nlohmann::json j = {{"set", name}, {"direction", "fallback"}, {"state", "not started (walferry fallback)"},
                      {"running", false}, {"suspended_tables", nlohmann::json::array()}};
  SlotJson(j, slot);
  j["warnings"] = slot ? control::SlotWarnings(slot_name, *slot, std::nullopt, limits)
                       : std::vector<std::string>{};
  return j;
}

// Where the migration stands as a whole (the same object in every set's "lifecycle"): the forward cutover's step
// (the target's cutover row), the switch back's (the old source's cutover row, walferry fallback --switch-back),
// which database takes the application's writes now ("primary": source | target | none) and which are read-only
// for new sessions.
nlohmann::json Lifecycle(pg::Connection& source, const std::string& schema, const std::optional<std::string>& forward) {
  nlohmann::json j = {{"cutover_step", forward ? nlohmann::json(*forward) : nlohmann::json()},
                      {"switch_back_step", nullptr}};
  auto set = [&](const char* phase, const char* primary, std::vector<std::string> read_only) {
    j["phase"] = phase;
    j["primary"] = primary;
    j["read_only"] = read_only;
  };
  if (!forward || *forward == "aborted") {
    set(forward ? "cutover aborted: replicating" : "replicating", "source", {});
    return j;
  }
  if (*forward != "done" && *forward != "fallback_ready") {
    set("cutover in progress", "none", {"source"});
    return j;
  }
  std::optional<std::string> back;
  control::ControlSchema old_source(source, schema);
  if (old_source.Exists()) back = old_source.CutoverStep();
  if (back) j["switch_back_step"] = *back;
  if (!back || *back == "aborted") {
    set(back ? "switched to the target (switch back aborted)" : "switched to the target", "target", {"source"});
  } else if (*back == "done") {
    set("switched back to the source", "source", {"target"});
  } else if (*back == "target_ready" || *back == "fallback_ready") {
    set("switch back finishing", "source", {"target"});
  } else {
    set("switch back in progress", "none", {"target", "source"});
  }
  return j;
}

}  // namespace

nlohmann::json StatusJson(const config::Config& config, pg::Connection& target, pg::Connection& source) {
  nlohmann::json out = nlohmann::json::array();
  const std::string& schema = config.control_schema;
  const control::SlotLimits limits{.wal_warn_bytes = config.cdc.wal_warn_bytes};
  std::vector<control::SetStatusRow> sets = control::ReadSetStatuses(target, schema, source);
  if (sets.empty()) return out;
  // walferry cutover's progress: from its first step on, the source database is read-only for new sessions.
  nlohmann::json cutover;
  std::optional<std::string> step = control::ControlSchema(target, schema).CutoverStep();
  if (step) cutover = *step;
  const nlohmann::json lifecycle = Lifecycle(source, schema, step);
  for (const control::SetStatusRow& s : sets) {
    nlohmann::json j = SetJson(s, target, schema, limits);
    j["direction"] = "forward";
    j["cutover_step"] = cutover;
    // The cutover drops the sets' slots on purpose: not a fault to report as "slot missing".
    if (step == "done" && j["slot_confirmed_lsn"] == "slot missing") j["slot_confirmed_lsn"] = "dropped by the cutover";
    j["lifecycle"] = lifecycle;
    out.push_back(j);
  }
  if (step == "fallback_ready" || step == "done") {
    if (auto fallback = Fallback(target, source, schema, limits)) {
      (*fallback)["cutover_step"] = cutover;
      if (lifecycle["switch_back_step"] == "done" && (*fallback)["slot_confirmed_lsn"] == "slot missing") {
        (*fallback)["slot_confirmed_lsn"] = "dropped by the switch back";
      }
      (*fallback)["lifecycle"] = lifecycle;
      out.push_back(*fallback);
    }
  }
  return out;
}

}  // namespace walferry::serve
