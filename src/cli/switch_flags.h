// cli/switch_flags.h: what `walferry cutover` and `walferry fallback --switch-back` share, since both run
// lifecycle::Cutover (one in each direction): the flags of the switch and the summary of its report.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "lifecycle/cutover.h"

namespace walferry::cli {

struct SwitchFlags {
  bool writes_stopped = false;
  bool terminate = false;
  int timeout = 60;
  int max_lag = 30;
  bool no_validate = false;
  std::string on_difference = "abort";
  int jobs = 2;
  bool abort = false;
  std::vector<std::string> allow_writers;  // consent per way to write through the freeze (freeze_check.h)

  // `from`: the server whose writes the switch stops ("source", "target"); `note` prefixes each description
  // (e.g. "With --switch-back: ").
  void Add(CLI::App& app, const std::string& from, const std::string& note = "");
  void Apply(lifecycle::CutoverOptions& o) const;
};

// The report as JSON; `database_key` names the database whose writes were stopped.
nlohmann::json SwitchReportJson(const lifecycle::CutoverReport& r, const std::string& database_key);
// The downtime line and, for a run that did the work, what was set, copied, checked and dropped. `ready`: what
// the downtime ends with ("target ready").
void PrintSwitchSummary(const lifecycle::CutoverReport& r, const std::string& ready);

}  // namespace walferry::cli
