// cli/load.cc: `walferry load` creates each set's publication and slot, copies its tables from the slot's exported
// snapshot, and records where CDC starts. Prints a summary table (or --json). Exit 0 loaded, 1 runtime failure,
// 2 bad input or a server not ready (nothing changed then). --from-standby copies from a paused physical standby. Module: load/loader.h; docs: docs/load.md.
#include <cctype>
#include <iostream>
#include <limits>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/load_output.h"
#include "common/cancel.h"
#include "load/loader.h"

namespace walferry::cli {

nlohmann::json LoadReportJson(const load::LoadReport& report) {
  nlohmann::json out;
  out["wall_seconds"] = report.wall_seconds;
  out["sets"] = nlohmann::json::array();
  for (const auto& s : report.sets) {
    nlohmann::json js = {{"set", s.set_name},
                         {"outcome", s.outcome},
                         {"slot", s.slot_name},
                         {"publication", s.publication_name},
                         {"start_lsn", s.start_lsn.ToString()},
                         {"snapshot", s.snapshot_name},
                         {"sequences_set", s.sequences_set},
                         {"large_objects", {{"count", s.large_objects.count},
                                            {"bytes", s.large_objects.bytes},
                                            {"replaced", s.large_objects.replaced},
                                            {"seconds", s.large_objects.seconds}}},
                         {"schema_seconds", s.schema_seconds},
                         {"copy_seconds", s.copy_seconds},
                         {"index_seconds", s.index_seconds}};
    js["tables"] = nlohmann::json::array();
    for (const auto& t : s.tables) {
      js["tables"].push_back({{"schema", t.table.schema},
                              {"table", t.table.name},
                              {"part", t.part},
                              {"parts", t.parts},
                              {"rows", t.rows},
                              {"bytes", t.bytes},
                              {"seconds", t.seconds},
                              {"format", t.binary ? "binary" : "text"}});
    }
    js["skipped_already_copied"] = nlohmann::json::array();
    for (const auto& t : s.skipped) js["skipped_already_copied"].push_back({{"schema", t.schema}, {"table", t.name}});
    out["sets"].push_back(js);
  }
  return out;
}

void PrintLoadReport(const load::LoadReport& report) {
  for (const auto& s : report.sets) {
    std::cout << "set " << s.set_name << ": " << s.outcome << "; slot " << s.slot_name << ", publication "
              << s.publication_name << "; CDC starts at " << s.start_lsn.ToString() << "\n";
    std::cout << fmt::format("  {:<40} {:>12} {:>14} {:>10} {:>7}\n", "table", "rows", "bytes", "seconds", "format");
    int64_t rows = 0, bytes = 0;
    for (const auto& t : s.tables) {
      std::string name = t.table.Display();
      if (t.parts > 1) name += fmt::format(" [{}/{}]", t.part + 1, t.parts);
      std::cout << fmt::format("  {:<40} {:>12} {:>14} {:>10.2f} {:>7}\n", name, t.rows, t.bytes,
                               t.seconds, t.binary ? "binary" : "text");
      rows += t.rows;
      bytes += t.bytes;
    }
    for (const auto& t : s.skipped) {
      std::cout << fmt::format("  {:<40} {:>12}\n", t.Display(), "(copied by an earlier run)");
    }
    std::cout << fmt::format("  {:<40} {:>12} {:>14}\n", "total", rows, bytes);
    std::cout << fmt::format("  steps: schema {:.2f} s, copy {:.2f} s, indexes and constraints {:.2f} s; "
                             "{} sequences set\n",
                             s.schema_seconds, s.copy_seconds, s.index_seconds, s.sequences_set);
    if (s.large_objects.count > 0) {
      std::cout << fmt::format("  large objects: {} ({} bytes) in {:.2f} s\n", s.large_objects.count,
                               s.large_objects.bytes, s.large_objects.seconds);
    }
  }
  std::cout << fmt::format("total wall time {:.2f} s\n", report.wall_seconds);
}

namespace {

class LoadCommand : public Command {
 public:
  std::string Name() const override { return "load"; }
  std::string Description() const override {
    return "Full load per replication set from the set's slot snapshot; records where CDC starts";
  }
  void Setup(CLI::App& app) override {
    flags_.Add(app, true, true);
    app.add_option("--set", set_, "Load only this set (default: every set)");
    app.add_option("--table-jobs", table_jobs_,
                   "Tables copied at once, and groups of tables created at once (default: load.table_jobs, else cores)")
        ->check(CLI::Range(1, 1024));
    app.add_option("--index-jobs", index_jobs_, "Indexes/constraints built at once (default: load.index_jobs)")
        ->check(CLI::Range(1, 1024));
    app.add_option("--target-prep", target_prep_,
                   "Tables already on the target: error (default) | do-nothing | truncate | drop");
    app.add_flag("--resume", resume_,
                 "Finish interrupted loads; sets never loaded are loaded, loaded ones left alone");
    app.add_option("--split-tables-larger-than", split_, kSplitTablesHelp);
    app.add_option("--cdc-start-lsn", cdc_start_lsn_, "Record LSN as the CDC start of a load done by other means");
    app.add_option("--from-standby", from_standby_,
                   "Copy from this physical standby of the source: slots on the source, replay paused on the "
                   "standby during the copy (resumed afterwards), CDC starts at its replay LSN");
  }
  void ApplyFlags(Context& ctx) override {
    flags_.Apply(ctx, true, true);
    if (!cdc_start_lsn_.empty()) {
      if (!Lsn::TryParse(cdc_start_lsn_)) {
        throw Error(ErrorKind::kUsage, "--cdc-start-lsn '" + cdc_start_lsn_ + "' is not an LSN")
            .WithHint("write it as PostgreSQL prints it, e.g. 0/1A2B3C4D");
      }
      if (resume_) throw Error(ErrorKind::kUsage, "--cdc-start-lsn and --resume cannot be combined");
      if (!from_standby_.empty()) {
        throw Error(ErrorKind::kUsage, "--cdc-start-lsn and --from-standby cannot be combined")
            .WithHint("--cdc-start-lsn copies nothing; --from-standby says where to copy from");
      }
    }
  }

  int Run(Context& ctx) override {
    // Ctrl-C / SIGTERM stops the copies and the tools at once (exit 130); every set stays resumable.
    InstallCancelHandlers();
    load::LoadOptions o = load::ConfiguredLoad(ctx.config);
    o.only_set = set_;
    if (table_jobs_ > 0) o.table_jobs = table_jobs_;
    if (index_jobs_ > 0) o.index_jobs = index_jobs_;
    if (!target_prep_.empty()) o.target_prep = target_prep_;
    o.resume = resume_;
    if (!cdc_start_lsn_.empty()) o.cdc_start_lsn = Lsn::Parse(cdc_start_lsn_);
    o.from_standby = from_standby_;
    if (!split_.empty()) o.split_tables_larger_than = ParseSizeFlag(split_, "--split-tables-larger-than");
    load::LoadReport report = load::RunLoad(o);
    if (ctx.global.json) {
      std::cout << LoadReportJson(report).dump(2) << "\n";
    } else {
      PrintLoadReport(report);
      std::cout << "next: walferry cdc -c walferry.yaml streams every change since the load (walferry status shows "
                   "the lag), or walferry migrate does both\n";
    }
    return kExitOk;
  }

 private:

  ConnectionFlags flags_;
  std::string set_;
  int table_jobs_ = 0;
  int index_jobs_ = 0;
  std::string target_prep_;
  bool resume_ = false;
  std::string cdc_start_lsn_;
  std::string split_;
  std::string from_standby_;
};

WALFERRY_REGISTER_COMMAND(LoadCommand);

}  // namespace
}  // namespace walferry::cli
