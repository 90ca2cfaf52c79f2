// cli/validate.cc: `walferry validate` compares every selected table between source and target down to the row
// (validate/validator.h), prints per table the rows compared, the differences with their keys and kinds, and the
// time; stores the differences in the control schema; with --repair rewrites the differing target rows.
// Exit 0 only when everything is equal (after --repair: when nothing remains), 1 when differences are found.
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "cli/command.h"
#include "pg/connection.h"
#include "validate/validator.h"

namespace walferry::cli {
namespace {

constexpr size_t kPrintedDifferences = 50;  // per table in text output; all are in JSON and the control schema

nlohmann::json MismatchJson(const validate::TableResult& t, const validate::Mismatch& m) {
  nlohmann::json j = {{"kind", validate::MismatchKindName(m.kind)}, {"key", t.KeyText(m)}, {"details", m.details}};
  if (!t.key_columns.empty()) j["key_values"] = m.key;
  if (t.key_columns.empty()) j["row_md5"] = m.row_hash, j["copies"] = m.copies;
  return j;
}

nlohmann::json TableJson(const validate::TableResult& t) {
  nlohmann::json j = {{"table", t.table.Display()}, {"schema", t.table.schema}, {"name", t.table.name},
                      {"key_columns", t.key_columns}, {"source_rows", t.source_rows}, {"target_rows", t.target_rows},
                      {"seconds", t.seconds}, {"equal", t.Equal()}, {"truncated", t.truncated}};
  if (!t.problem.empty()) j["problem"] = t.problem;
  j["differences"] = nlohmann::json::array();
  for (const auto& m : t.mismatches) j["differences"].push_back(MismatchJson(t, m));
  if (t.repair_ran) {
    j["repaired_rows"] = t.repaired;
    j["remaining"] = nlohmann::json::array();
    for (const auto& m : t.remaining) j["remaining"].push_back(MismatchJson(t, m));
  }
  return j;
}

nlohmann::json ReportJson(const validate::Report& report) {
  nlohmann::json j = {{"equal", report.Equal()}, {"seconds", report.seconds}, {"sets", nlohmann::json::array()}};
  for (const auto& s : report.sets) {
    nlohmann::json sj = {{"set", s.set_name}, {"snapshot_lsn", s.snapshot_lsn.ToString()}, {"equal", s.Equal()}};
    sj["applied_lsn"] = s.applied_lsn ? nlohmann::json(s.applied_lsn->ToString()) : nlohmann::json();
    sj["recheck_lsn"] = s.recheck_lsn ? nlohmann::json(s.recheck_lsn->ToString()) : nlohmann::json();
    sj["tables"] = nlohmann::json::array();
    for (const auto& t : s.tables) sj["tables"].push_back(TableJson(t));
    j["sets"].push_back(std::move(sj));
  }
  return j;
}

void PrintTable(const validate::TableResult& t) {
  std::string status = t.Equal() ? "equal" : (t.repair_ran ? "DIFFERENT (after repair)" : "DIFFERENT");
  if (t.repair_ran && t.Equal()) status = "repaired";
  std::cout << fmt::format("  {:<40} {:>12} {:>12} {:>11} {:>8.1f}  {}\n", t.table.Display(), t.source_rows,
                           t.target_rows, t.mismatches.size(), t.seconds, status);
  if (!t.problem.empty()) std::cout << "      " << t.problem << "\n";
  if (t.key_columns.empty() && t.problem.empty()) std::cout << "      (no key: compared as a multiset of rows)\n";
  for (size_t i = 0; i < t.mismatches.size() && i < kPrintedDifferences; ++i) {
    const auto& m = t.mismatches[i];
    std::cout << fmt::format("      {:<14} {}  {}\n", validate::MismatchKindName(m.kind), t.KeyText(m), m.details);
  }
  if (t.mismatches.size() > kPrintedDifferences) {
    std::cout << "      ... and " << t.mismatches.size() - kPrintedDifferences << " more (all in --json and in the "
              << "control schema's validation_failures)\n";
  }
  if (t.truncated) std::cout << "      more differences than --max-differences: only the first ones are listed\n";
  if (t.repair_ran) {
    std::cout << "      repair: " << t.repaired << " target row(s) rewritten; " << t.remaining.size()
              << " difference(s) remain\n";
    for (const auto& m : t.remaining) std::cout << "      REMAINS " << MismatchKindName(m.kind) << " " << t.KeyText(m) << "\n";
  }
}

void PrintReport(const validate::Report& report, const std::string& control_schema) {
  size_t differences = 0, unequal = 0, tables = 0;
  for (const auto& s : report.sets) {
    std::cout << "set " << s.set_name << ": source snapshot at " << s.snapshot_lsn.ToString();
    if (s.applied_lsn) {
      std::cout << ", compared after CDC applied through " << s.applied_lsn->ToString();
      if (s.recheck_lsn) std::cout << "; differing rows re-checked at " << s.recheck_lsn->ToString();
    } else {
      std::cout << " (no CDC checkpoint for this set: the target as it is now)";
    }
    std::cout << "\n"
              << fmt::format("  {:<40} {:>12} {:>12} {:>11} {:>8}  {}\n", "table", "source rows", "target rows",
                             "differences", "seconds", "result");
    for (const auto& t : s.tables) {
      PrintTable(t);
      ++tables;
      differences += t.mismatches.size() + (t.problem.empty() ? 0 : 1);
      if (!t.Equal()) ++unequal;
    }
  }
  std::cout << fmt::format("{}: {} table(s) compared in {:.1f} s, {} difference(s) found", report.Equal() ? "EQUAL" : "DIFFERENT",
                           tables, report.seconds, differences);
  if (differences > 0) std::cout << " (stored in " << control_schema << ".validation_failures)";
  if (unequal > 0) std::cout << "; " << unequal << " table(s) differ";
  std::cout << "\n";
}

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
    std::vector<pg::TableName> filter;
    for (const auto& t : tables_) filter.push_back(pg::TableName::Parse(t));
    std::vector<validate::SetTables> sets = WithContext("reading the source's tables", [&] {
      pg::Connection source = pg::Connection::Open(options_.source, {.role = "source"});
      return validate::ResolveSets(ctx.config, catalog::ListTables(source, options_.control_schema), set_, filter);
    });
    validate::Report report = validate::Run(options_, sets);
    if (ctx.global.json) {
      std::cout << ReportJson(report).dump(2) << "\n";
    } else {
      PrintReport(report, ctx.config.control_schema);
    }
    return report.Equal() ? kExitOk : kExitFailure;
  }

 private:
  ConnectionFlags flags_;
  validate::Options options_;
  std::string set_;
  std::vector<std::string> tables_;
  int wait_seconds_ = 300;
};

WALFERRY_REGISTER_COMMAND(ValidateCommand);

}  // namespace
}  // namespace walferry::cli
