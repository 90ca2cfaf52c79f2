// plan/from_assessment.h
//
// The bridge from assess to plan: what the set planner needs to know of one assessed table (write rate, size,
// pk_and_unique, the recommended LOB limit and why). Pure.
#pragma once

#include "assess/assessment.h"
#include "plan/set_planner.h"

namespace walferry::plan {

TableStats StatsFrom(const assess::TableAssessment& t);

}  // namespace walferry::plan
