// cli/load_output.h: how a load's report is shown (defined in cli/load.cc), for `walferry load`, `restart` and
// `reset`: a table per set on stdout, or one JSON document with --json.
#pragma once

#include <nlohmann/json.hpp>

#include "load/loader.h"

namespace walferry::cli {

nlohmann::json LoadReportJson(const load::LoadReport& report);
void PrintLoadReport(const load::LoadReport& report);

}  // namespace walferry::cli
