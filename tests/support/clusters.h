// support/clusters.h
//
// The integration-test harness: one source cluster (wal_level=logical) and one target cluster, real PostgreSQL 15,
// created once per test binary before the first test and removed after the last (also when tests fail: the
// gtest Environment's TearDown and LocalCluster's destructor both clean up). Each test makes its own databases
// with FreshDatabase(), so tests never see each other's tables.
#pragma once

#include <string>

#include "pg/connection.h"
#include "testing/local_cluster.h"

namespace walferry::test {

testing::LocalCluster& Source();
testing::LocalCluster& Target();

// A new empty database with the same name on source and target, named after the running test.
std::string FreshDatabase(const std::string& suffix = "");

// Superuser connections to the named database.
pg::Connection ConnectSource(const std::string& db);
pg::Connection ConnectTarget(const std::string& db);

// Runs the walferry binary with args (no shell); returns exit code and combined output.
struct CliResult {
  int exit_code;
  std::string output;
};
CliResult RunWalferry(const std::vector<std::string>& args, const std::vector<std::string>& env = {});

// Every row of `table` on both sides, compared as sorted text; returns "" when equal, else a description of the
// first difference. Used to end integration tests with proof that source equals target.
std::string DiffTable(pg::Connection& source, pg::Connection& target, const std::string& quoted_table);

}  // namespace walferry::test
