// serve/status_json.h
//
// The one builder of walferry's status document: per set, what the control schema and the source's slot say
// (control::ReadSetStatuses): state, positions, lag, rate, exceptions, suspended tables, warnings, the cutover's
// step, and after `walferry cutover --fallback` the fallback set. `walferry status --json` prints it and
// `walferry serve` answers /api/status with it, so the two cannot drift apart. Read-only.
// Not thread-safe per Connection (the caller owns both connections and uses them from one thread at a time).
#pragma once

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "pg/connection.h"

namespace walferry::serve {

// The status document: a JSON array, one object per set (empty when no set has a status row yet).
// config: the control schema and cdc.wal_warn. Throws Error(kSql/kConnection) from either server, Error(kData)
// for a state this version does not know.
nlohmann::json StatusJson(const config::Config& config, pg::Connection& target, pg::Connection& source);

}  // namespace walferry::serve
