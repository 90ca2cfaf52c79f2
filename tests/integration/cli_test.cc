// The walferry binary itself: help, version, exit codes, ping against real servers, redaction in its output.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <fstream>

#include "support/clusters.h"

namespace walferry {
namespace {

using test::RunWalferry;

TEST(Cli, HelpListsCommandsAndExitCodes) {
  auto r = RunWalferry({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("ping"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error, 130 interrupted"), std::string::npos) << r.output;
  auto sub = RunWalferry({"ping", "--help"});
  EXPECT_EQ(sub.exit_code, 0);
  EXPECT_NE(sub.output.find("--source"), std::string::npos) << sub.output;
}

TEST(Cli, VersionPrintsVersion) {
  auto r = RunWalferry({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("walferry 0."), std::string::npos) << r.output;
  auto j = RunWalferry({"version", "--json"});
  EXPECT_EQ(j.exit_code, 0);
  EXPECT_NE(j.output.find("\"libpq\""), std::string::npos) << j.output;
}

TEST(Cli, UnknownCommandOrFlagIsUsageError) {
  EXPECT_EQ(RunWalferry({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(RunWalferry({"ping", "--no-such-flag"}).exit_code, 2);
  EXPECT_EQ(RunWalferry({}).exit_code, 2);
}

TEST(Cli, PingWithoutTargetIsConfigError) {
  auto r = RunWalferry({"ping", "--source", test::Source().Uri()});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("no target database given"), std::string::npos) << r.output;
}

TEST(Cli, PingReportsBothServers) {
  auto r = RunWalferry({"ping", "--source", test::Source().Uri(), "--target", test::Target().Uri()});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("wal_level           logical"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("replication slots   can create: yes"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("schemas and tables  can create: yes"), std::string::npos) << r.output;
}

TEST(Cli, PingTakesConnectionsFromEnvironmentAndPrintsJson) {
  auto r = RunWalferry({"--json", "ping"},
                       {"WALFERRY_SOURCE=" + test::Source().Uri(), "WALFERRY_TARGET=" + test::Target().Uri()});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"wal_level\": \"logical\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"can_create_replication_slots\": true"), std::string::npos) << r.output;
}

TEST(Cli, PingReportsUnreachableServerWithRedactedConninfoAndExitsOne) {
  std::string bad = "postgresql://app:T0pS3cret@127.0.0.1:" + std::to_string(localcluster::FreePort()) + "/x";
  auto r = RunWalferry({"ping", "--source", bad, "--target", test::Target().Uri()});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("source: cannot connect"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("T0pS3cret"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("app:********@"), std::string::npos) << r.output;
}

// ps shows every process's command line to every user: a password given with --source is overwritten there once
// parsed, and walferry never writes a core file (it would hold the passwords and rows).
TEST(Cli, PasswordsLeaveTheCommandLineAndNoCoreFileIsWritten) {
  const std::string port = std::to_string(localcluster::FreePort());
  pid_t pid = test::SpawnWalferry({"cdc", "--source", "postgresql://app:T0pS3cret@127.0.0.1:" + port + "/x",
                                   "--target=host=127.0.0.1 port=" + port + " sslpassword=K3yPass"});
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::replace(text.begin(), text.end(), '\0', ' ');
    return text;
  };
  const std::string proc = "/proc/" + std::to_string(pid);
  std::string cmdline;
  EXPECT_TRUE(test::PollUntil([&] {
    cmdline = read(proc + "/cmdline");
    return cmdline.find("app:*********@") != std::string::npos;
  }, std::chrono::seconds(30))) << cmdline;
  EXPECT_EQ(cmdline.find("T0pS3cret"), std::string::npos) << cmdline;
  EXPECT_EQ(cmdline.find("K3yPass"), std::string::npos) << cmdline;
  EXPECT_NE(cmdline.find("sslpassword=*******"), std::string::npos) << cmdline;
  std::string limits = read(proc + "/limits");
  EXPECT_NE(limits.find("Max core file size        0                    0"), std::string::npos) << limits;
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

TEST(Cli, PingShowsMissingPrivilegesOfAnOrdinaryRole) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, "CREATE ROLE plain LOGIN PASSWORD 'pw'; REVOKE CREATE ON DATABASE " + db + " FROM PUBLIC");
  test::Target().Psql(db, "CREATE ROLE plain LOGIN PASSWORD 'pw'; REVOKE CREATE ON DATABASE " + db + " FROM PUBLIC");
  auto r = RunWalferry({"ping", "--source", test::Source().UriAs("plain", "pw", db), "--target",
                        test::Target().UriAs("plain", "pw", db)});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("replication slots   can create: NO"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("publications        can create: NO"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("schemas and tables  can create: NO"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("'pw'"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace walferry
