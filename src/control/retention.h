// control/retention.h
//
// Retention of the two control tables that grow with every failure (config `retention`, docs/config.md):
// apply_exceptions, pruned by each set's running CDC worker, and validation_failures, pruned by validate before it
// stores a run's differences. A set's rows recorded longer ago than the configured age are deleted, at most `batch`
// per statement (src/sql/control/expire_*.sql), so a backlog (retention shortened over millions of rows) never
// holds one long transaction: the caller repeats while a batch comes back full. Only the set's own rows: each set
// is pruned by its own worker, so two workers never delete the same rows.
// Not thread-safe per Connection. Never called on a connection with an apply transaction open: each call is its
// own autocommit statement.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "pg/connection.h"

namespace walferry::control {

enum class Retained { kApplyExceptions, kValidationFailures };

// The table's name: "apply_exceptions" or "validation_failures".
const char* RetainedTable(Retained table);

inline constexpr int64_t kExpireBatch = 10000;

// Deletes up to `batch` of set_name's rows of `table` older than max_age (by error_time / failure_time); returns
// how many. max_age 0 keeps every row: nothing is asked of the server. Throws Error like any statement.
int64_t ExpireRows(pg::Connection& target, const std::string& schema, Retained table, const std::string& set_name,
                   std::chrono::seconds max_age, int64_t batch = kExpireBatch);

// ExpireRows until a batch comes back less than full; returns the total deleted.
int64_t ExpireAllRows(pg::Connection& target, const std::string& schema, Retained table, const std::string& set_name,
                      std::chrono::seconds max_age);

}  // namespace walferry::control
