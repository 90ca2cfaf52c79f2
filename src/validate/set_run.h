// validate/set_run.h
//
// Internal to validate/: the state of one set's validation, shared by validator.cc (snapshot, comparison) and
// followup.cc (re-check, description, storage, repair). Not part of the module's interface.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "control/control_schema.h"
#include "pg/connection.h"
#include "validate/report.h"
#include "validate/table_sql.h"
#include "validate/validator.h"

namespace walferry::validate::internal {

struct Worker {
  pg::Connection source;  // inside the set's snapshot transaction while tables are compared
  pg::Connection target;
};

struct TableWork {
  std::unique_ptr<TableSql> sql;  // null when the table cannot be compared (result.problem says why)
  TableResult result;
};

struct SetRun {
  const Options& options;
  std::string set_name;
  pg::Connection control_conn;         // target: control schema
  std::optional<control::ControlSchema> control;
  pg::Connection source_now;           // source, autocommit: re-checks, descriptions, repair
  std::vector<Worker> workers;
  std::vector<TableWork> tables;
  bool recheck = false;  // CDC applies while comparing: differences are re-checked (followup.cc) before they count
};

// followup.cc
void Recheck(SetRun& run, SetResult& result);
void Describe(SetRun& run);
void Store(SetRun& run);
// validate/store_failure.sql for `control`'s validation_failures ($1 set, $2 schema, $3 table, $4 key, $5 kind,
// $6 details).
std::string StoreFailureSql(const control::ControlSchema& control);
void Repair(SetRun& run);

}  // namespace walferry::validate::internal
