// cli/status.cc: `walferry status` prints, per set, what the control schema and the source's slot say: state
// (a row not updated for kStaleSeconds is "not running"), applied LSN, the slot's confirmed LSN, WAL the slot
// retains, last applied commit time, latency, rows/s and the number of apply exceptions. Read-only.
#include <csignal>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cdc/status_writer.h"
#include "cli/command.h"
#include "control/control_schema.h"
#include "sql/sql.h"

namespace walferry::cli {
namespace {

constexpr int kStaleSeconds = 30;
std::atomic<bool> g_watch_stop{false};
extern "C" void OnWatchSignal(int) { g_watch_stop.store(true); }

nlohmann::json OptJson(const std::optional<std::string>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

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
  }
  void ApplyFlags(Context& ctx) override { flags_.Apply(ctx, true, true); }

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
    control::ControlSchema cs(target, ctx.config.control_schema);
    if (!cs.Exists()) return out;
    // Made by walferry cdc; absent when cdc never ran with this version.
    bool has_suspended = !target.Exec("SELECT to_regclass($1) IS NULL",
                                      {pg::Param(pg::QuoteIdent(ctx.config.control_schema) + ".suspended_tables")})
                              .GetBool(0, 0);
    pg::Result r = target.Exec(cdc::WithSchema(sql::Get("cdc/status_report"), ctx.config.control_schema),
                               {pg::Param(std::to_string(kStaleSeconds))});
    for (int i = 0; i < r.rows(); ++i) {
      std::string set(r.Get(i, 0));
      std::string state(r.Get(i, 1));
      bool stale = r.GetBool(i, 3);
      bool final_state = state == "FAILED" || state == "STOPPED";
      pg::Result slot = source.Exec(sql::Get("cdc/slot_info"), {pg::Param(control::SlotName(set))});
      // A killed walferry leaves a live-looking state behind: a row not updated recently, or a slot nobody reads,
      // means not running (also right after a --until-* run, whose last state is CAUGHT UP).
      bool reading = slot.rows() == 1 && slot.GetBool(0, 2);
      bool running = !stale && !final_state && reading;
      nlohmann::json j = {{"set", set},
                          {"state", !running && !final_state ? "not running (last: " + state + ")" : state},
                          {"running", running},
                          {"status_time", std::string(r.Get(i, 2))},
                          {"applied_lsn", OptJson(r.GetOpt(i, 4))},
                          {"last_applied_commit_time", OptJson(r.GetOpt(i, 5))},
                          {"latency_seconds", OptJson(r.GetOpt(i, 6))},
                          {"rows_per_second", OptJson(r.GetOpt(i, 7))},
                          {"last_error", OptJson(r.GetOpt(i, 9))},
                          {"exceptions", r.GetInt(i, 10)}};
      if (slot.rows() == 1) {
        j["slot_confirmed_lsn"] = OptJson(slot.GetOpt(0, 0));
        j["slot_retained_wal_bytes"] = slot.IsNull(0, 1) ? nlohmann::json() : nlohmann::json(slot.GetInt(0, 1));
        j["slot_active"] = slot.GetBool(0, 2);
      } else {
        j["slot_confirmed_lsn"] = "slot missing";
      }
      j["suspended_tables"] = nlohmann::json::array();
      if (has_suspended) {
        pg::Result su = target.Exec(cdc::WithSchema(sql::Get("cdc/list_suspended"), ctx.config.control_schema),
                                    {pg::Param(set)});
        for (int k = 0; k < su.rows(); ++k) {
          j["suspended_tables"].push_back({{"table", pg::TableName{std::string(su.Get(k, 0)), std::string(su.Get(k, 1))}.Display()},
                                           {"since_lsn", std::string(su.Get(k, 2))},
                                           {"suspended_at", std::string(su.Get(k, 3))},
                                           {"error", std::string(su.Get(k, 4))}});
        }
      }
      out.push_back(j);
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
    for (const auto& s : sets) {
      std::cout << Text(s["set"]) << ": " << Text(s["state"]) << "\n"
                << "  applied LSN          " << Text(s["applied_lsn"]) << "\n"
                << "  slot confirmed LSN   " << Text(s["slot_confirmed_lsn"]) << "\n"
                << "  WAL retained (bytes) " << Text(s.value("slot_retained_wal_bytes", nlohmann::json())) << "\n"
                << "  last applied commit  " << Text(s["last_applied_commit_time"]) << "\n"
                << "  latency (s)          " << Text(s["latency_seconds"]) << "\n"
                << "  rows/s               " << Text(s["rows_per_second"]) << "\n"
                << "  apply exceptions     " << Text(s["exceptions"]) << "\n";
      if (!s["last_error"].is_null()) std::cout << "  last error           " << Text(s["last_error"]) << "\n";
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
};

WALFERRY_REGISTER_COMMAND(StatusCommand);

}  // namespace
}  // namespace walferry::cli
