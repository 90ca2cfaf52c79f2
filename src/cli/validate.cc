// cli/validate.cc: `walferry validate` compares every selected table between source and target down to the row
// (validate/validator.h), prints per table the rows compared, the differences with their keys and kinds, and the
// time; stores the differences in the control schema; with --repair rewrites the differing target rows.
// Exit 0 only when everything is equal (after --repair: when nothing remains), 1 when differences are found.
#include <iostream>

#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "cli/command.h"
#include "pg/connection.h"
#include "control/control_schema.h"
#include "validate/report_text.h"
#include "validate/validator.h"

namespace walferry::cli {
namespace {

class ValidateCommand : public Command {
 public:
  std::string Name() const override { return "validate"; }
  std::string Description() const override {
    return "Compare every selected table between source and target down to the row; --repair fixes the target";
  }
  void Setup(CLI::App& app) override {
    flags_.Add(app, true, true);
    app.add_option("--set", set_, "Only this replication set");
    app.add_option("--table", tables_, "Only this table (schema.table; repeatable)");
    app.add_option("--range-rows", options_.range_rows, "Source rows per key range hashed on both servers")
        ->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
    app.add_option("--range-bytes", options_.range_bytes,
                   "Bytes of row size per key range (large values make ranges of fewer rows)")
        ->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{1} << 50));
    app.add_option("--jobs", options_.jobs, "Connection pairs comparing ranges in parallel")
        ->capture_default_str()->check(CLI::Range(1, 256));
    app.add_flag("--repair", options_.repair, "Rewrite the differing target rows from the source, then re-check them");
    app.add_option("--wait-seconds", wait_seconds_,
                   "How long to wait for CDC to apply past the comparison's source position")
        ->capture_default_str()->check(CLI::Range(0, 86400));
    app.add_option("--max-differences", options_.max_differences, "Differences listed per table before stopping")
        ->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  }
  void ApplyFlags(Context& ctx) override { flags_.Apply(ctx, true, true); }

  int Run(Context& ctx) override {
    options_.source = ctx.config.source;
    options_.target = ctx.config.target;
    options_.control_schema = ctx.config.control_schema;
    options_.wait = std::chrono::seconds(wait_seconds_);
    options_.failures_retention = std::chrono::seconds(ctx.config.retention.validation_failures_seconds);
    std::vector<pg::TableName> filter;
    for (const auto& t : tables_) filter.push_back(pg::TableName::Parse(t));
    std::vector<validate::SetTables> sets = WithContext("reading the source's tables", [&] {
      pg::Connection source = pg::Connection::Open(options_.source, {.role = "source"});
      // Sizes only split the work (ranges, groups): heap and TOAST data, no index opened.
      std::vector<catalog::TableInfo> all = catalog::ListTables(source, options_.control_schema, catalog::Sizes::kData);
      return validate::ResolveSets(ctx.config, all, set_, filter);
    });
    options_.source_frozen = CutoverDone(ctx.config);
    options_.large_objects = tables_.empty();  // they belong to no set: compared when every table is
    validate::Report report = validate::Run(options_, sets);
    if (ctx.global.json) {
      std::cout << validate::ReportJson(report).dump(2) << "\n";
    } else {
      validate::PrintReport(std::cout, report, ctx.config.control_schema);
      std::cout << (report.Equal()
                        ? "next: walferry cutover switches once walferry status shows a small lag\n"
                        : "next: the differences are stored in " + ctx.config.control_schema +
                              ".validation_failures; walferry validate --repair rewrites them from the source\n");
    }
    return report.Equal() ? kExitOk : kExitFailure;
  }

 private:
  // After a completed cutover the source takes no writes and the slots are gone: compare as it is, without waiting
  // for a CDC that no longer runs.
  static bool CutoverDone(const config::Config& config) {
    pg::Connection target = pg::Connection::Open(config.target, {.role = "target"});
    return control::ControlSchema(target, config.control_schema).CutoverStep() == "done";
  }

  ConnectionFlags flags_;
  validate::Options options_;
  std::string set_;
  std::vector<std::string> tables_;
  int wait_seconds_ = 300;
};

WALFERRY_REGISTER_COMMAND(ValidateCommand);

}  // namespace
}  // namespace walferry::cli
