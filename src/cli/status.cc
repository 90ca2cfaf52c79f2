// cli/status.cc: `walferry status` prints, per set, what the control schema and the source's slot say
// (control::ReadSetStatuses, whose rule for "running" walferry migrate shares): state, applied LSN, the slot's
// confirmed LSN, WAL the slot retains, last applied commit time, latency, rows/s, the number of apply exceptions
// and the suspended tables; after `walferry cutover --fallback`, the fallback set too (its status on the old source,
// its slot on the target), also before `walferry fallback` first ran. Read-only.
#include <csignal>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "config/size.h"
#include "control/control_schema.h"
#include "control/set_status.h"
#include "lifecycle/fallback.h"
#include "pg/quote.h"
#include "sql/sql.h"

namespace walferry::cli {
namespace {

std::atomic<bool> g_watch_stop{false};
extern "C" void OnWatchSignal(int) { g_watch_stop.store(true); }

nlohmann::json OptJson(const std::optional<std::string>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }
nlohmann::json OptJson(const std::optional<Lsn>& v) { return v ? nlohmann::json(v->ToString()) : nlohmann::json(); }
// As text, as `--json` always printed them (the server's float8 output is also the shortest exact form).
nlohmann::json OptJson(const std::optional<double>& v) {
  return v ? nlohmann::json(fmt::format("{}", *v)) : nlohmann::json();
}

class StatusCommand : public Command {
 public:
  std::string Name() const override { return "status"; }
  std::string Description() const override { return "Show each set's CDC state, positions, lag and exceptions"; }
  void Setup(CLI::App& app) override {
    flags_.Add(app, true, true);
    app.add_flag("--watch", watch_, "Refresh every --interval seconds until Ctrl-C (or --count reports)");
    app.add_option("--interval", interval_, "Seconds between --watch refreshes (default 2)")->check(CLI::Range(0.1, 3600.0));
    app.add_option("--count", count_, "With --watch: stop after this many reports (default: until Ctrl-C)")
        ->check(CLI::PositiveNumber);
    app.add_option("--wal-warn", wal_warn_,
                   "Warn when a slot retains more WAL than this size, e.g. 10GB (default: cdc.wal_warn, 10GB)");
  }
  void ApplyFlags(Context& ctx) override {
    flags_.Apply(ctx, true, true);
    if (!wal_warn_.empty()) {
      std::string why;
      std::optional<int64_t> bytes = config::ParseSize(wal_warn_, &why);
      if (!bytes) throw Error(ErrorKind::kUsage, "--wal-warn " + why);
      ctx.config.cdc.wal_warn_bytes = *bytes;
    }
  }

  int Run(Context& ctx) override {
    pg::Connection target = pg::Connection::Open(ctx.config.target, {.role = "target"});
    pg::Connection source = pg::Connection::Open(ctx.config.source, {.role = "source"});
    std::signal(SIGINT, OnWatchSignal);
    std::signal(SIGTERM, OnWatchSignal);
    for (int n = 1;; ++n) {
      nlohmann::json sets = Collect(ctx, target, source);
      if (ctx.global.json) {
        std::cout << (watch_ ? sets.dump() : sets.dump(2)) << "\n";  // --watch --json: one JSON document a line
      } else {
        if (watch_) std::cout << "--- " << Now(target) << "\n";
        Print(sets);
      }
      std::cout.flush();
      if (!watch_ || (count_ > 0 && n >= count_)) break;
      auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(interval_);
      while (std::chrono::steady_clock::now() < until && !g_watch_stop.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (g_watch_stop.load()) break;
    }
    return kExitOk;
  }

 private:
  nlohmann::json Collect(const Context& ctx, pg::Connection& target, pg::Connection& source) const {
    nlohmann::json out = nlohmann::json::array();
    const std::string& schema = ctx.config.control_schema;
    const control::SlotLimits limits{.wal_warn_bytes = ctx.config.cdc.wal_warn_bytes};
    std::vector<control::SetStatusRow> sets = control::ReadSetStatuses(target, schema, source);
    if (sets.empty()) return out;
    // walferry cutover's progress: from its first step on, the source database is read-only for new sessions.
    nlohmann::json cutover;
    std::optional<std::string> step = control::ControlSchema(target, schema).CutoverStep();
    if (step) cutover = *step;
    for (const control::SetStatusRow& s : sets) {
      nlohmann::json j = SetJson(s, target, schema, limits);
      j["direction"] = "forward";
      j["cutover_step"] = cutover;
      out.push_back(j);
    }
    if (step == "fallback_ready" || step == "done") {
      if (auto fallback = Fallback(target, source, schema, limits)) {
        (*fallback)["cutover_step"] = cutover;
        out.push_back(*fallback);
      }
    }
    return out;
  }

  // One set's status as JSON; `control` holds its control schema (the target; the old source for the fallback).
  static nlohmann::json SetJson(const control::SetStatusRow& s, pg::Connection& control, const std::string& schema,
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
    // Made by walferry cdc; absent when cdc never ran with this version.
    bool has_suspended =
        control.Exec(sql::Get("control/table_exists"), {pg::Param(schema), pg::Param("suspended_tables")}).GetBool(0, 0);
    j["suspended_tables"] = has_suspended ? SuspendedTables(control, schema, s.set_name) : nlohmann::json::array();
    j["warnings"] = control::SetWarnings(s, limits);
    return j;
  }

  static void SlotJson(nlohmann::json& j, const std::optional<control::SlotFacts>& slot) {
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

  // After walferry cutover --fallback: the fallback set (its control schema on the old source, its slot on the
  // target), also before walferry fallback ever ran, since its slot retains the target's WAL from the switch on.
  static std::optional<nlohmann::json> Fallback(pg::Connection& target, pg::Connection& old_source,
                                                const std::string& schema, const control::SlotLimits& limits) {
    const std::string name = lifecycle::FallbackSetName(target);
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

  static nlohmann::json SuspendedTables(pg::Connection& target, const std::string& schema, const std::string& set) {
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

  static std::string Now(pg::Connection& target) { return std::string(target.Exec("SELECT now()::text").Get(0, 0)); }

  static std::string Text(const nlohmann::json& v) {
    if (v.is_null()) return "-";
    return v.is_string() ? v.get<std::string>() : v.dump();
  }

  static void Print(const nlohmann::json& sets) {
    if (sets.empty()) std::cout << "no set has run CDC yet (no status rows in the control schema)\n";
    if (!sets.empty() && sets[0]["cutover_step"].is_string()) {
      std::string step = sets[0]["cutover_step"].get<std::string>();
      if (step == "aborted") {
        std::cout << "cutover: aborted (the source takes writes again)\n";
      } else {
        std::cout << "cutover: " << (step == "done" ? "done" : "in progress, last step " + step)
                  << ": the source database is READ-ONLY for new sessions"
                  << (step == "done" ? "\n" : " (walferry cutover continues it; --abort makes it writable)\n");
      }
    }
    for (const auto& s : sets) {
      std::cout << (s.value("direction", "") == "fallback" ? "fallback (target -> old source) " : "") << Text(s["set"])
                << ": " << Text(s["state"]) << "\n"
                << "  applied LSN          " << Text(s.value("applied_lsn", nlohmann::json())) << "\n"
                << "  slot confirmed LSN   " << Text(s["slot_confirmed_lsn"]) << "\n"
                << "  WAL retained (bytes) " << Text(s.value("slot_retained_wal_bytes", nlohmann::json())) << "\n"
                << "  last applied commit  " << Text(s.value("last_applied_commit_time", nlohmann::json())) << "\n"
                << "  latency (s)          " << Text(s.value("latency_seconds", nlohmann::json())) << "\n"
                << "  rows/s               " << Text(s.value("rows_per_second", nlohmann::json())) << "\n"
                << "  apply exceptions     " << Text(s.value("exceptions", nlohmann::json())) << "\n";
      if (!s.value("last_error", nlohmann::json()).is_null()) std::cout << "  last error           " << Text(s["last_error"]) << "\n";
      for (const auto& w : s["warnings"]) std::cout << "  WARNING " << Text(w) << "\n";
      for (const auto& t : s["suspended_tables"]) {
        std::cout << "  SUSPENDED " << Text(t["table"]) << " since " << Text(t["since_lsn"]) << ": "
                  << Text(t["error"]) << "\n";
      }
    }
  }

  ConnectionFlags flags_;
  bool watch_ = false;
  double interval_ = 2.0;
  int count_ = 0;
  std::string wal_warn_;
};

WALFERRY_REGISTER_COMMAND(StatusCommand);

}  // namespace
}  // namespace walferry::cli
