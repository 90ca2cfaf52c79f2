// cli/status.cc: `walferry status` prints, per set, what the control schema and the source's slot say
// (control::ReadSetStatuses, whose rule for "running" walferry migrate shares): state, applied LSN, the slot's
// confirmed LSN, WAL the slot retains, last applied commit time, latency, rows/s, the number of apply exceptions
// and the suspended tables; after `walferry cutover --fallback`, the fallback set too (its status on the old source,
// its slot on the target), also before `walferry fallback` first ran. Read-only. The JSON is built by
// serve::StatusJson, which `walferry serve` answers /api/status with.
#include <csignal>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "config/size.h"
#include "serve/status_json.h"

namespace walferry::cli {
namespace {

std::atomic<bool> g_watch_stop{false};
extern "C" void OnWatchSignal(int) { g_watch_stop.store(true); }

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
      nlohmann::json sets = serve::StatusJson(ctx.config, target, source);
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
  static std::string Now(pg::Connection& target) { return std::string(target.Exec("SELECT now()::text").Get(0, 0)); }

  static std::string Text(const nlohmann::json& v) {
    if (v.is_null()) return "-";
    return v.is_string() ? v.get<std::string>() : v.dump();
  }

  // Text output for people; --json keeps the raw numbers.
  static std::string Bytes(const nlohmann::json& v) {
    if (v.is_number()) return config::HumanSize(v.get<int64_t>());
    if (v.is_string()) {
      try {
        return config::HumanSize(std::stoll(v.get<std::string>()));
      } catch (const std::exception&) {
      }
    }
    return Text(v);
  }
  static std::string Number(const nlohmann::json& v, const char* unit) {
    double d = 0;
    if (v.is_number()) {
      d = v.get<double>();
    } else if (v.is_string()) {  // numeric values come as text from the server
      try {
        d = std::stod(v.get<std::string>());
      } catch (const std::exception&) {
        return Text(v);
      }
    } else {
      return Text(v);
    }
    if (d >= 100 || d == static_cast<double>(static_cast<int64_t>(d))) return fmt::format("{:.0f}{}", d, unit);
    return fmt::format("{:.1f}{}", d, unit);
  }

  // Where the migration stands: which database is the primary now, which are read-only, and what to run next.
  static std::string LifecycleLine(const nlohmann::json& l) {
    const std::string phase = l.value("phase", "");
    if (phase == "replicating") return "";
    const std::string primary = l.value("primary", "");
    std::string ro;
    for (const auto& r : l["read_only"]) ro += (ro.empty() ? "" : " and ") + r.get<std::string>();
    std::string out = "lifecycle: " + phase;
    if (phase == "cutover in progress") out += " (last step " + Text(l["cutover_step"]) + ")";
    if (phase == "switch back in progress" || phase == "switch back finishing") {
      out += " (last step " + Text(l["switch_back_step"]) + ")";
    }
    out += primary == "none" ? ": no database takes the application's writes now"
                             : ": the " + primary + " database is the primary (takes writes)";
    if (!ro.empty()) out += "; the " + ro + " " + (l["read_only"].size() > 1 ? "are" : "is") + " READ-ONLY for new sessions";
    out += "\n";
    if (phase == "cutover in progress") out += "  walferry cutover continues it; walferry cutover --abort makes the source writable\n";
    if (phase == "switch back in progress") {
      out += "  walferry fallback --switch-back continues it; --switch-back --abort makes the target writable\n";
    }
    if (phase == "switched back to the source") {
      out += "  to migrate again later: make the target writable (ALTER DATABASE ... RESET "
             "default_transaction_read_only), then walferry reset --yes\n";
    }
    return out;
  }

  static void Print(const nlohmann::json& sets) {
    if (sets.empty()) std::cout << "no set has run CDC yet (no status rows in the control schema)\n";
    if (!sets.empty() && sets[0].contains("lifecycle")) std::cout << LifecycleLine(sets[0]["lifecycle"]);
    for (const auto& s : sets) {
      std::cout << (s.value("direction", "") == "fallback" ? "fallback (target -> old source) " : "") << Text(s["set"])
                << ": " << Text(s["state"]) << "\n"
                << "  applied LSN          " << Text(s.value("applied_lsn", nlohmann::json())) << "\n"
                << "  slot confirmed LSN   " << Text(s["slot_confirmed_lsn"]) << "\n"
                << "  WAL retained         " << Bytes(s.value("slot_retained_wal_bytes", nlohmann::json())) << "\n"
                << "  last applied commit  " << Text(s.value("last_applied_commit_time", nlohmann::json())) << "\n"
                << "  latency              " << Number(s.value("latency_seconds", nlohmann::json()), " s") << "\n"
                << "  rows/s               " << Number(s.value("rows_per_second", nlohmann::json()), "") << "\n"
                << "  apply exceptions     " << Text(s.value("exceptions", nlohmann::json())) << "\n";
      if (const nlohmann::json& b = s.value("batch", nlohmann::json()); !b.is_null() && b["batches"].get<int64_t>() +
                                                                              b["replays"].get<int64_t>() > 0) {
        std::cout << "  batch apply          " << Text(b["batches"]) << " batches, " << Text(b["rows_collapsed"])
                  << " row changes collapsed, " << Text(b["replays"]) << " replayed per change\n";
        if (b.value("pipelined", nlohmann::json()).is_number() && b["pipelined"].get<int64_t>() > 0) {
          std::cout << "  two connections      " << Text(b["pipelined"]) << " batches pipelined, "
                    << Text(b["pipeline_waits"]) << " waits for the batch before\n";
        }
        if (!b["last_replay"].is_null()) std::cout << "  last batch replay    " << Text(b["last_replay"]) << "\n";
      }
      if (const nlohmann::json& st = s.value("streaming", nlohmann::json());
          !st.is_null() && st["applied"].get<int64_t>() + st["aborted"].get<int64_t>() > 0) {
        std::cout << "  streamed txns        " << Text(st["applied"]) << " applied (" << Text(st["applied_early"])
                  << " while they ran on the source, " << Text(st["early_stopped"]) << " early applies given up), "
                  << Text(st["aborted"]) << " aborted on the source\n";
      }
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
