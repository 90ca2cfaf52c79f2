// support/clusters.h
//
// The integration-test harness: one source cluster (wal_level=logical) and one target cluster, real PostgreSQL 15,
// created once per test binary before the first test and removed after the last (also when tests fail: the
// gtest Environment's TearDown and LocalCluster's destructor both clean up). Each test makes its own databases
// with FreshDatabase(), so tests never see each other's tables.
//
// Other major versions: WALFERRY_TEST_SOURCE_VERSION / WALFERRY_TEST_TARGET_VERSION (e.g. 12, 17) make the
// harness start that version instead (its server binaries: localcluster::LocalCluster::BinDirFor; scripts/deps.sh
// installs them). A test binary written for a pair of versions names its default with SetDefaultClusterVersions;
// the environment variables still win. Neither set: both clusters run the system's PostgreSQL 15, as always.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "localcluster/local_cluster.h"
#include "pg/connection.h"

namespace walferry::test {

localcluster::LocalCluster& Source();
localcluster::LocalCluster& Target();

// The major versions a test binary's clusters run unless the environment says otherwise (0: the system's). Call
// before main() (from a namespace-scope initializer); returns true so that it can initialize a constant.
bool SetDefaultClusterVersions(int source_major, int target_major);

// A new empty database with the same name on source and target, named after the running test.
std::string FreshDatabase(const std::string& suffix = "");

// A walferry.yaml for database `db` of both clusters (version, source, target) followed by `yaml` (sets, load
// settings, ...), in the temporary directory; returns its path.
std::string WriteConfig(const std::string& db, const std::string& yaml);

// Superuser connections to the named database.
pg::Connection ConnectSource(const std::string& db);
pg::Connection ConnectTarget(const std::string& db);

// Runs the walferry binary with args (no shell); returns exit code and combined output.
struct CliResult {
  int exit_code;
  std::string output;
};
CliResult RunWalferry(const std::vector<std::string>& args, const std::vector<std::string>& env = {});

// Starts the walferry binary with args without waiting (stdout and stderr to /dev/null); returns its pid. With
// own_group, the child leads a new process group (pid = group id), as a service manager would start it, so a test
// can signal walferry together with the pg_dump/psql children it runs.
pid_t SpawnWalferry(const std::vector<std::string>& args, bool own_group = false);
// The same, with stdout and stderr appended to the file log_path (created when missing), so a long test keeps
// every run's log in one place.
pid_t SpawnWalferry(const std::vector<std::string>& args, bool own_group, const std::string& log_path);
// The same with another walferry executable, e.g. WALFERRY_UNSANITIZED_BINARY (tests/CMakeLists.txt: walferry
// without sanitizers, for a measurement of walferry's own memory).
pid_t SpawnWalferryBinary(const std::string& binary, const std::vector<std::string>& args, bool own_group,
                          const std::string& log_path);

// Sends `sig` to `pid` and polls up to `limit` for it to end; returns its wait status, or nullopt when it had not
// ended by then (it is then killed with SIGKILL and reaped).
std::optional<int> SignalAndWait(pid_t pid, int sig, std::chrono::seconds limit);

// The whole text of a file (e.g. the log of a SpawnWalferry), "" when it does not exist.
std::string ReadWholeFile(const std::string& path);

// Calls `done` every `interval` until it returns true or `limit` has passed; returns its last answer.
bool PollUntil(const std::function<bool()>& done, std::chrono::seconds limit = std::chrono::seconds(120),
               std::chrono::milliseconds interval = std::chrono::milliseconds(100));

// The first column of the first row of a query's answer, as a number or as text (NULL is an error).
int64_t Count(pg::Connection& c, const std::string& sql);
std::string Text(pg::Connection& c, const std::string& sql);
std::string Text(pg::Connection&& c, const std::string& sql);

// Every row of `table` on both sides, compared as sorted text; returns "" when equal, else a description of the
// first difference. Used to end integration tests with proof that source equals target.
std::string DiffTable(pg::Connection& source, pg::Connection& target, const std::string& quoted_table);

}  // namespace walferry::test
