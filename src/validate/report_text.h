// validate/report_text.h
//
// A validation Report for people (a table per set, the differences with their keys) and for scripts (JSON).
// Used by `walferry validate`, `walferry migrate` and the demo. No I/O besides writing to the given stream.
#pragma once

#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "validate/report.h"

namespace walferry::validate {

nlohmann::json ReportJson(const Report& report);
void PrintReport(std::ostream& out, const Report& report, const std::string& control_schema);

}  // namespace walferry::validate
