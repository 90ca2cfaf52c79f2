// cli/migrate.cc: `walferry migrate` runs the whole pipeline in one process (migrate/pipeline.h): load every set
// not yet loaded, then CDC for every set until Ctrl-C or --until-caught-up, then (after catching up) validate.
// Ctrl-C stops cleanly: open transactions finish, positions are recorded, and a later `walferry migrate` or
// `walferry cdc` continues. Exit 0 when done (or stopped cleanly), 1 on a failure or a difference found. --listen
// also serves the status page, /metrics and /api/status from this process while it runs (as walferry serve).
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cdc/slot_reader.h"
#include "cli/command.h"
#include "cli/listen_flags.h"
#include "common/cancel.h"
#include "common/log.h"
#include "migrate/pipeline.h"
#include "validate/report_text.h"

namespace walferry::cli {
namespace {

class MigrateCommand : public Command {
 public:
  std::string Name() const override { return "migrate"; }
  std::string Description() const override {
    return "Load every set, stream changes until Ctrl-C or --until-caught-up, then validate";
  }
  void Setup(CLI::App& app) override {
    flags_.Add(app, true, true);
    app.add_option("--table-jobs", load_.table_jobs,
                   "Tables copied at once, and groups of tables created at once (default: load.table_jobs, else cores)")
        ->check(CLI::Range(1, 1024));
    app.add_option("--index-jobs", load_.index_jobs, "Indexes built at once (default: load.index_jobs)")
        ->check(CLI::Range(1, 1024));
    app.add_option("--target-prep", load_.target_prep,
                   "Tables already on the target: error (default) | do-nothing | truncate | drop");
    app.add_option("--split-tables-larger-than", split_, kSplitTablesHelp);
    app.add_flag("--until-caught-up", until_caught_up_,
                 "Once everything up to the source's WAL position at CDC start is applied: validate, then stop");
    app.add_flag("--no-validate", no_validate_, "Skip the validation after catching up");
    app.add_option("--status-interval", status_seconds_, "Seconds between status lines while CDC runs")
        ->capture_default_str()->check(CLI::Range(1, 3600));
    listen_.Add(app, false);
  }
  void ApplyFlags(Context& ctx) override {
    flags_.Apply(ctx, true, true);
    if (!split_.empty()) load_.split_tables_larger_than = ParseSizeFlag(split_, "--split-tables-larger-than");
  }

  int Run(Context& ctx) override {
    // One reader per set (cdc/slot_reader.h): a set another process streams is refused before anything starts.
    cdc::RefuseSetsReadElsewhere(ctx.config, config::SetNames(ctx.config));
    std::unique_ptr<serve::Server> server = listen_.Start(ctx.config);  // --listen: as walferry serve
    InstallCancelHandlers();
    auto logger = log::For("migrate");
    nlohmann::json out;
    logger->info("step 1/3: full load of the sets not loaded yet ({})", fmt::join(config::SetNames(ctx.config), ", "));
    if (auto report = migrate::LoadPending(ctx.config, load_)) {
      out["load"] = LoadSummary(*report, ctx.global.json);
    } else {
      logger->info("every set was loaded by an earlier run; continuing with CDC from each set's checkpoint");
    }
    if (CancelRequested()) return Stopped(ctx, out);

    logger->info("step 2/3: change data capture{}", until_caught_up_ ? " until caught up" : " (Ctrl-C to stop)");
    auto print_status = [&] {
      try {
        logger->info("status:\n{}", migrate::FormatStatus(migrate::ReadStatus(ctx.config)));
      } catch (const Error& e) {
        logger->warn("cannot read status: {}", e.what());
      }
    };
    // CDC runs in the background. With --until-caught-up: once every set's slot is confirmed past the source's
    // position at this moment, the sets have caught up, and validation runs while CDC keeps applying (it compares
    // at a consistent point only while CDC runs); then CDC stops.
    Lsn catch_up_to = until_caught_up_ ? migrate::SourceWalPosition(ctx.config) : Lsn();
    migrate::BackgroundCdc cdc;
    cdc.Start(migrate::CdcWorkers(ctx.config, false), std::chrono::seconds(status_seconds_), print_status);
    std::optional<validate::Report> report;
    bool caught_up = false;
    if (until_caught_up_) {
      caught_up = migrate::WaitUntilCaughtUp(ctx.config, catch_up_to,
                                                  [&] { return cdc.any_ended() || CancelRequested(); });
      if (caught_up) {
        logger->info("every set has applied the source's changes up to {}", catch_up_to.ToString());
        print_status();
        if (!no_validate_) {
          logger->info("step 3/3: validating every table while CDC keeps applying");
          report = migrate::Validate(ctx.config);
        }
      }
      cdc.Stop();
    }
    std::vector<migrate::CdcResult> results = cdc.Finish();
    bool failed = false;
    out["cdc"] = nlohmann::json::array();
    for (const auto& r : results) {
      failed = failed || !r.outcome.ok();
      out["cdc"].push_back({{"set", r.set_name}, {"state", r.outcome.state},
                            {"applied_lsn", r.outcome.applied_lsn.ToString()},
                            {"rows_applied", r.outcome.rows_applied}, {"error", r.outcome.error}});
      if (!ctx.global.json) {
        std::cout << fmt::format("set {}: {}, applied through {} ({} row changes applied in this run)\n",
                                 r.set_name, r.outcome.state, r.outcome.applied_lsn.ToString(),
                                 r.outcome.rows_applied);
        if (!r.outcome.error.empty()) std::cout << "  " << r.outcome.error << "\n";
      }
    }
    if (failed) return Finish(ctx, out, kExitFailure);
    if (caught_up && no_validate_) return Finish(ctx, out, kExitOk);
    if (!report) return Stopped(ctx, out);
    out["validation"] = validate::ReportJson(*report);
    if (!ctx.global.json) validate::PrintReport(std::cout, *report, ctx.config.control_schema);
    return Finish(ctx, out, report->Equal() ? kExitOk : kExitFailure);
  }

 private:
  static nlohmann::json LoadSummary(const load::LoadReport& report, bool quiet) {
    nlohmann::json sets = nlohmann::json::array();
    for (const auto& s : report.sets) {
      int64_t rows = 0, bytes = 0;
      for (const auto& t : s.tables) rows += t.rows, bytes += t.bytes;
      sets.push_back({{"set", s.set_name}, {"outcome", s.outcome}, {"tables", s.tables.size()}, {"rows", rows},
                      {"bytes", bytes}, {"start_lsn", s.start_lsn.ToString()}});
      if (!quiet) {
        std::cout << fmt::format("set {}: {} ({} tables, {} rows, {:.1f} MB); CDC starts at {}\n", s.set_name,
                                 s.outcome, s.tables.size(), rows, static_cast<double>(bytes) / 1e6,
                                 s.start_lsn.ToString());
      }
    }
    return {{"sets", sets}, {"wall_seconds", report.wall_seconds}};
  }

  static int Stopped(const Context& ctx, nlohmann::json& out) {
    out["stopped"] = true;
    if (!ctx.global.json) {
      std::cout << "stopped; every set's position is recorded on the target. Run walferry migrate (or walferry "
                   "cdc) again to continue.\n";
    }
    return Finish(ctx, out, kExitOk);
  }

  static int Finish(const Context& ctx, const nlohmann::json& out, int code) {
    if (ctx.global.json) std::cout << out.dump(2) << "\n";
    return code;
  }

  ConnectionFlags flags_;
  migrate::LoadSettings load_;
  std::string split_;
  bool until_caught_up_ = false;
  bool no_validate_ = false;
  int status_seconds_ = 10;
  ListenFlags listen_;
};

WALFERRY_REGISTER_COMMAND(MigrateCommand);

}  // namespace
}  // namespace walferry::cli
