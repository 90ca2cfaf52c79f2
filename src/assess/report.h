// assess/report.h
//
// Renders an Assessment: for people (tables: inventory, LOB sizes with truncations at the limit, columns needing
// care, findings with fixes, preflight) and as the versioned JSON document described by docs/schema/assess-v1.json
// ("version": 1). Pure: values in, text out.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "assess/assessment.h"

namespace walferry::assess {

inline constexpr int kJsonVersion = 1;

[[nodiscard]] std::string RenderText(const Assessment& a);
[[nodiscard]] nlohmann::json ToJson(const Assessment& a);

}  // namespace walferry::assess
