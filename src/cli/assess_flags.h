// cli/assess_flags.h
//
// The flags `walferry assess` and `walferry plan` share: table selection, LOB measurement and the write-rate
// interval, turned into assess::AssessOptions. Header-only; used by cli/assess.cc and cli/plan.cc.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

#include "assess/assessment.h"
#include "cli/command.h"
#include "common/error.h"

namespace walferry::cli {

struct AssessFlags {
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  std::string lob_sizes = "exact";
  std::optional<int64_t> lob_limit_kb;
  int interval = 0;

  void Add(CLI::App& app) {
    app.add_option("--include", include, "Select tables: schema.table with % wildcards (repeatable; adds to config)");
    app.add_option("--exclude", exclude, "Leave tables out: schema.table with % wildcards (repeatable)");
    app.add_option("--lob-sizes", lob_sizes, "exact (every row, default) or sample[:PERCENT] (TABLESAMPLE, estimate)");
    app.add_option("--lob-limit-kb", lob_limit_kb, "Report how many rows a LOB limit of this many KB would truncate")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
    app.add_option("--interval", interval, "Measure write rates over this many seconds (default: since stats reset)")
        ->check(CLI::Range(0, 86400));
  }

  // Options from the config (rules, control schema) plus these flags. Throws Error(kUsage) on a bad --lob-sizes.
  assess::AssessOptions Options(const Context& ctx) const {
    assess::AssessOptions o;
    o.control_schema = ctx.config.control_schema;
    o.rules = ctx.config.rules;
    for (const auto& r : include) {
      auto n = pg::TableName::Parse(r);
      o.rules.push_back({n.schema, n.name, true});
    }
    for (const auto& r : exclude) {
      auto n = pg::TableName::Parse(r);
      o.rules.push_back({n.schema, n.name, false});
    }
    o.lob_limit_kb = lob_limit_kb;
    o.interval_seconds = interval;
    o.target = ctx.config.target;
    if (!ctx.config.sets.empty()) {
      o.sets_needed = static_cast<int>(ctx.config.sets.size());
      o.sets_counted = true;
    }
    if (lob_sizes == "exact") return o;
    double percent = 10;
    if (lob_sizes.rfind("sample", 0) != 0 || (lob_sizes.size() > 6 && lob_sizes[6] != ':')) {
      throw Error(ErrorKind::kUsage, "--lob-sizes '" + lob_sizes + "' is not exact, sample or sample:PERCENT");
    }
    if (lob_sizes.size() > 7) {
      try {
        size_t used = 0;
        percent = std::stod(lob_sizes.substr(7), &used);
        if (used != lob_sizes.size() - 7) throw std::invalid_argument("trailing text");
      } catch (const std::exception&) {
        throw Error(ErrorKind::kUsage, "--lob-sizes '" + lob_sizes + "': PERCENT is not a number");
      }
    }
    if (!(percent > 0 && percent <= 100)) {
      throw Error(ErrorKind::kUsage, "--lob-sizes '" + lob_sizes + "': PERCENT must be in (0, 100]");
    }
    o.sample_percent = percent;
    return o;
  }
};

}  // namespace walferry::cli
