#include "demo/demo.h"

#include <chrono>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "assess/assessment.h"
#include "assess/report.h"
#include "common/cancel.h"
#include "common/log.h"
#include "config/config.h"
#include "demo/sample_db.h"
#include "demo/writer.h"
#include "lifecycle/cutover.h"
#include "localcluster/local_cluster.h"
#include "migrate/pipeline.h"
#include "plan/from_assessment.h"
#include "plan/set_planner.h"
#include "validate/report_text.h"

namespace walferry::demo {

namespace {
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void Heading(std::ostream& out, const std::string& text) { out << "\n== " << text << " ==\n" << std::flush; }

config::Config PlanConfig(const localcluster::LocalCluster& source, const localcluster::LocalCluster& target,
                          std::ostream& out) {
  pg::Connection conn = pg::Connection::Open(source.Uri("shop"), {.role = "source"});
  assess::AssessOptions options;
  options.interval_seconds = 2;  // measure write rates while the writer runs
  options.sets_needed = 2;
  Heading(out, "walferry assess (write rates measured over 2 s)");
  assess::Assessment a = assess::Assess(conn, options);
  out << assess::RenderText(a);
  std::vector<plan::TableStats> stats;
  for (const auto* t : a.Selected()) stats.push_back(plan::StatsFrom(*t));
  plan::SetPlan p = plan::PlanSets(stats, 2);
  Heading(out, "walferry plan --sets 2");
  out << plan::ExplainPlan(p);
  config::Config c;
  c.source = source.Uri("shop");
  c.target = target.Uri("shop");
  c.sets = p.Configs();
  return c;
}
}  // namespace

int RunDemo(const DemoOptions& options, std::ostream& out) {
  InstallCancelHandlers();
  auto logger = log::For("demo");
  auto started = Clock::now();
  logger->info("starting a source cluster (wal_level=logical) and a target cluster on 127.0.0.1");
  auto source = localcluster::LocalCluster::Create({.name = "demo-source"});
  auto target = localcluster::LocalCluster::Create({.name = "demo-target", .logical = false});
  source.CreateDatabase("shop");
  target.CreateDatabase("shop");
  ThrowIfCancelled("starting the demo clusters");
  logger->info("creating the sample shop database (scale {})", options.scale);
  {
    pg::Connection src = pg::Connection::Open(source.Uri("shop"), {.role = "source"});
    CreateSampleDatabase(src, options.scale);
  }
  ThrowIfCancelled("creating the sample database");

  Writer writer(source.Uri("shop"));
  writer.Start(options.writer_per_second);
  logger->info("the application writer is running (~{} transactions/s)", options.writer_per_second);

  config::Config cfg = PlanConfig(source, target, out);
  std::string yaml_path = (source.base_dir() / "walferry.yaml").string();
  std::ofstream(yaml_path) << config::ToYaml(cfg);
  out << "wrote " << yaml_path << "\n";
  ThrowIfCancelled("planning");

  Heading(out, "walferry migrate: full load");
  auto load_started = Clock::now();
  std::optional<load::LoadReport> loaded = migrate::LoadPending(cfg, {});
  int64_t rows_loaded = 0, bytes_loaded = 0;
  if (loaded) {
    for (const auto& s : loaded->sets) {
      int64_t rows = 0, bytes = 0;
      for (const auto& t : s.tables) rows += t.rows, bytes += t.bytes;
      rows_loaded += rows;
      bytes_loaded += bytes;
      out << fmt::format("set {}: {} tables, {} rows, {:.1f} MB; CDC starts at {}\n", s.set_name, s.tables.size(),
                         rows, static_cast<double>(bytes) / 1e6, s.start_lsn.ToString());
    }
  }
  double load_seconds = Since(load_started);
  ThrowIfCancelled("loading");

  Heading(out, fmt::format("walferry migrate: CDC while the application keeps writing ({} s)", options.cdc_seconds));
  auto print_status = [&] { out << migrate::FormatStatus(migrate::ReadStatus(cfg)) << std::flush; };
  migrate::BackgroundCdc cdc;
  cdc.Start(migrate::CdcWorkers(cfg, false), std::chrono::seconds(2), print_status);
  auto cdc_started = Clock::now();
  while (Since(cdc_started) < options.cdc_seconds && !cdc.finished()) {
    ThrowIfCancelled("streaming changes");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  writer.Stop();
  if (!writer.error().empty()) throw Error(ErrorKind::kInternal, "the demo writer failed: " + writer.error());
  Lsn stop_position = migrate::SourceWalPosition(cfg);
  out << fmt::format("the application stopped after {} transactions, at source position {}; waiting until every "
                     "set has applied up to there\n",
                     writer.transactions(), stop_position.ToString());

  Heading(out, "walferry migrate --until-caught-up");
  bool caught_up = migrate::WaitUntilCaughtUp(cfg, stop_position, [&] { return cdc.any_ended() || CancelRequested(); });
  print_status();
  std::optional<validate::Report> report;
  if (caught_up) {
    Heading(out, "walferry validate (while CDC keeps running)");
    report = migrate::Validate(cfg);
    validate::PrintReport(out, *report, cfg.control_schema);
  }
  cdc.Stop();
  uint64_t changes = 0;
  for (const auto& r : cdc.Finish()) {
    changes += r.outcome.rows_applied;
    if (!r.outcome.ok()) throw Error(ErrorKind::kInternal, "CDC for set " + r.set_name + " failed: " + r.outcome.error);
  }
  ThrowIfCancelled("waiting for CDC to catch up");
  if (!report) throw Error(ErrorKind::kInternal, "CDC stopped before catching up");

  // The switch: the application has stopped (--writes-stopped), and every table was just compared.
  Heading(out, "walferry cutover --writes-stopped --no-validate");
  lifecycle::CutoverOptions switch_options;
  switch_options.config = cfg;
  switch_options.writes_stopped = true;
  switch_options.validate = false;
  lifecycle::CutoverReport switched = lifecycle::Cutover(switch_options, CancelFlag());
  out << fmt::format("the target is ready: every set applied up to {}, {} sequences set, {} large objects copied; "
                     "downtime {:.2f} s; the source is read-only now, its slots and publications are dropped\n",
                     switched.final_lsn, switched.sequences, switched.large_objects_copied,
                     switched.downtime_seconds);

  size_t differences = 0, tables = 0;
  for (const auto& s : report->sets) {
    for (const auto& t : s.tables) differences += t.mismatches.size() + (t.problem.empty() ? 0 : 1), ++tables;
  }
  Heading(out, "summary");
  out << fmt::format("tables moved:        {} in {} replication sets\n", tables, cfg.sets.size())
      << fmt::format("rows loaded:         {} ({:.1f} MB) in {:.1f} s\n", rows_loaded,
                     static_cast<double>(bytes_loaded) / 1e6, load_seconds)
      << fmt::format("changes streamed:    {} row changes from {} application transactions\n", changes,
                     writer.transactions())
      << fmt::format("differences:         {}\n", differences)
      << fmt::format("switch downtime:     {:.2f} s (writes stopped -> target ready)\n", switched.downtime_seconds)
      << fmt::format("total time:          {:.1f} s\n", Since(started))
      << "\nNext: docs/runbook.md for a production migration, docs/cli.md for every command; `walferry demo --keep`\n"
         "leaves the clusters running so you can try walferry status -c " << yaml_path << " and walferry validate -c "
      << yaml_path << " yourself.\n";
  if (options.keep) {
    out << "\nClusters kept running:\n  source " << source.Uri("shop") << "\n  target " << target.Uri("shop")
        << "\nPress Ctrl-C to stop and remove them." << std::endl;
    while (!CancelRequested()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    logger->info("stopping the demo clusters");
  }
  return report->Equal() && differences == 0 ? 0 : 1;
}

}  // namespace walferry::demo
