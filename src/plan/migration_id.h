// plan/migration_id.h
//
// A new migration id for walferry.yaml (`migration_id`, config/config.h): 12 hex digits from std::random_device,
// so two plans (of two databases of one cluster, or of one database for two targets) never name their slots and
// publications alike (control::SlotName). Not pure: each call draws anew.
#pragma once

#include <string>

namespace walferry::plan {

std::string NewMigrationId();

}  // namespace walferry::plan
