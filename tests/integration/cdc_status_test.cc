// walferry status: the DMS-compatible views, the --json contents, a killed walferry shown as not running, walferry
// migrate's status lines agreeing with it, and a bounded --watch.
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "cdc_support.h"
#include "config/config.h"
#include "migrate/pipeline.h"

namespace walferry {
namespace {

using cdctest::CdcFixture;
using cdctest::PollUntil;

TEST(CdcStatus, DmsViewsAndJsonReportTheSet) {
  CdcFixture f = CdcFixture::Create("dmsv", "CREATE TABLE t (id int PRIMARY KEY, v int)", {"public.t"},
                                    "ALTER TABLE t ADD CONSTRAINT only_small CHECK (v < 100)");
  f.AppendConfig("control:\n  dms_compatible_views: true\ncdc:\n  error_policy: log-and-continue\n");
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("INSERT INTO t VALUES (1, 1), (2, 200), (3, 3)");
  auto r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  pg::Connection t = test::ConnectTarget(f.db);
  pg::Result v = t.Exec("SELECT task_name, task_status, applied_lsn::text FROM walferry.awsdms_status");
  ASSERT_EQ(v.rows(), 1);
  EXPECT_EQ(v.Get(0, 0), "dmsv");
  EXPECT_EQ(v.Get(0, 1), "CAUGHT UP");
  pg::Result ex = t.Exec("SELECT \"TASK_NAME\", \"TABLE_OWNER\", \"TABLE_NAME\", \"STATEMENT\", \"ERROR\" "
                         "FROM walferry.awsdms_apply_exceptions");
  ASSERT_EQ(ex.rows(), 1);
  EXPECT_EQ(ex.Get(0, 0), "dmsv");
  EXPECT_EQ(ex.Get(0, 2), "t");
  EXPECT_NE(std::string(ex.Get(0, 3)).find("$2='200'"), std::string::npos) << ex.Get(0, 3);
  auto st = test::RunWalferry({"-c", f.config_path, "--json", "status"});
  ASSERT_EQ(st.exit_code, 0) << st.output;
  nlohmann::json j = nlohmann::json::parse(st.output);
  ASSERT_EQ(j.size(), 1u);
  const auto& s = j[0];
  EXPECT_EQ(s["set"], "dmsv");
  EXPECT_EQ(s["state"], "not running (last: CAUGHT UP)");  // --until-caught-up has ended: nobody reads the slot
  EXPECT_EQ(s["running"], false);
  EXPECT_EQ(s["applied_lsn"], std::string(v.Get(0, 2)));
  EXPECT_EQ(s["slot_active"], false);
  // Numbers are JSON numbers (they were strings: a script had to parse them).
  EXPECT_TRUE(s["latency_seconds"].is_number()) << s.dump();
  EXPECT_TRUE(s["rows_per_second"].is_number() || s["rows_per_second"].is_null()) << s.dump();
  EXPECT_TRUE(s["slot_retained_wal_bytes"].is_number()) << s.dump();
  EXPECT_EQ(s["exceptions"], 1);
  EXPECT_TRUE(s["slot_confirmed_lsn"].is_string());
  EXPECT_TRUE(s["slot_retained_wal_bytes"].is_number());
  EXPECT_TRUE(s["last_applied_commit_time"].is_string());
  EXPECT_TRUE(s["suspended_tables"].empty());
  f.DropSlot();
}

TEST(CdcStatus, KilledWalferryIsShownAsNotRunning) {
  CdcFixture f = CdcFixture::Create("killed", "CREATE TABLE t (id int PRIMARY KEY)", {"public.t"});
  pid_t pid = cdctest::Spawn({"-c", f.config_path, "cdc"});
  pg::Connection t = test::ConnectTarget(f.db);
  ASSERT_TRUE(PollUntil([&] {
    return t.Exec("SELECT count(*) FROM walferry.status WHERE task_name = 'killed'").GetInt(0, 0) == 1;
  }));
  auto running = test::RunWalferry({"-c", f.config_path, "--json", "status"});
  ASSERT_EQ(running.exit_code, 0) << running.output;
  EXPECT_EQ(nlohmann::json::parse(running.output)[0]["running"], true) << running.output;
  // The text is for people: sizes with units, rates without six decimals (--json keeps the raw numbers).
  auto text = test::RunWalferry({"-c", f.config_path, "status"});
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_TRUE(std::regex_search(text.output, std::regex("WAL retained +[0-9.]+ (B|kB|MB|GB)\n"))) << text.output;
  EXPECT_FALSE(std::regex_search(text.output, std::regex("rows/s +[0-9]+\\.[0-9]{2,}"))) << text.output;
  EXPECT_FALSE(std::regex_search(text.output, std::regex("latency +[0-9]+\\.[0-9]{2,}"))) << text.output;
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  // The row still says CHANGE PROCESSING or CAUGHT UP; aged past the 30 s limit it must read "not running".
  t.Exec("UPDATE walferry.status SET status_time = now() - interval '5 minutes' WHERE task_name = 'killed'");
  auto st = test::RunWalferry({"-c", f.config_path, "status"});
  ASSERT_EQ(st.exit_code, 0) << st.output;
  EXPECT_NE(st.output.find("killed: not running (last: "), std::string::npos) << st.output;
  f.DropSlot();
}

// After a --until-caught-up run the row is fresh and says CAUGHT UP, but nobody reads the slot. `walferry status`
// said "not running"; walferry migrate's status lines (which looked at the row's age only) said "CAUGHT UP".
TEST(CdcStatus, MigrateStatusLinesAgreeWithStatusOnAFinishedRun) {
  CdcFixture f = CdcFixture::Create("agree", "CREATE TABLE t (id int PRIMARY KEY)", {"public.t"});
  test::ConnectSource(f.db).Exec("INSERT INTO t VALUES (1)");
  auto r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  pg::Connection t = test::ConnectTarget(f.db);
  // Fresh by construction, however slow this machine is: only the slot tells that the run has ended.
  t.Exec("UPDATE walferry.status SET status_time = now() WHERE task_name = 'agree'");
  auto st = test::RunWalferry({"-c", f.config_path, "--json", "status"});
  ASSERT_EQ(st.exit_code, 0) << st.output;
  nlohmann::json j = nlohmann::json::parse(st.output);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["state"], "not running (last: CAUGHT UP)");
  EXPECT_EQ(j[0]["running"], false);
  std::string lines = migrate::FormatStatus(migrate::ReadStatus(config::Load(f.config_path)));
  EXPECT_NE(lines.find("not running (last: CAUGHT UP)"), std::string::npos) << lines;
  f.ExpectEqual();
  f.DropSlot();
}

// A slot that retains more WAL than cdc.wal_warn, or that nobody has read for 10 minutes, is warned about by
// status (text and --json) and, for the WAL, in the log of a running CDC.
TEST(CdcStatus, WarnsAboutRetainedWalAndAnUnreadSlot) {
  CdcFixture f = CdcFixture::Create("walwarn", "CREATE TABLE t (id int PRIMARY KEY, v text)", {"public.t"});
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, 1000) g");
  ASSERT_EQ(f.Cdc().exit_code, 0);
  auto warnings = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"-c", f.config_path, "--json", "status"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto st = test::RunWalferry(args);
    EXPECT_EQ(st.exit_code, 0) << st.output;
    return nlohmann::json::parse(st.output)[0]["warnings"];
  };
  EXPECT_TRUE(warnings({}).empty()) << "10 GB by default; the status row is fresh";
  EXPECT_EQ(nlohmann::json::parse(test::RunWalferry({"-c", f.config_path, "--json", "status"}).output)[0]
                ["slot_wal_status"], "reserved");
  // The slot keeps WAL from its restart_lsn on: new writes nobody consumes add to it.
  src.Exec("INSERT INTO t SELECT g, repeat('y', 100) FROM generate_series(1001, 3000) g");
  auto w = warnings({"--wal-warn", "64kB"});
  ASSERT_EQ(w.size(), 1u) << w.dump();
  EXPECT_NE(w[0].get<std::string>().find("slot walferry_walwarn retains"), std::string::npos) << w.dump();
  EXPECT_NE(test::RunWalferry({"-c", f.config_path, "status", "--wal-warn", "1.5GB"}).exit_code, 0);
  // Nobody has read the slot since the last status write, 20 minutes ago.
  test::ConnectTarget(f.db).Exec("UPDATE walferry.status SET status_time = now() - interval '20 minutes'");
  auto text = test::RunWalferry({"-c", f.config_path, "status"});
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("WARNING slot walferry_walwarn has not been read for 20 minutes"), std::string::npos)
      << text.output;
  // A running CDC checks its slot and logs the same WAL warning.
  f.AppendConfig("cdc:\n  wal_warn: 64kB\n");
  auto r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("slot walferry_walwarn retains"), std::string::npos) << r.output;
  f.ExpectEqual();
  f.DropSlot();
}

TEST(CdcStatus, WatchWithCountPrintsThatManyReports) {
  CdcFixture f = CdcFixture::Create("watch", "CREATE TABLE t (id int PRIMARY KEY)", {"public.t"});
  test::ConnectSource(f.db).Exec("INSERT INTO t VALUES (1)");
  ASSERT_EQ(f.Cdc().exit_code, 0);
  auto st = test::RunWalferry({"-c", f.config_path, "--json", "status", "--watch", "--interval", "0.2", "--count", "3"});
  ASSERT_EQ(st.exit_code, 0) << st.output;
  std::istringstream lines(st.output);
  std::string line;
  int reports = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] != '[') continue;
    nlohmann::json j = nlohmann::json::parse(line);
    ASSERT_EQ(j.size(), 1u);
    EXPECT_EQ(j[0]["set"], "watch");
    ++reports;
  }
  EXPECT_EQ(reports, 3) << st.output;
  auto text = test::RunWalferry({"-c", f.config_path, "status", "--watch", "--interval", "0.1", "--count", "2"});
  ASSERT_EQ(text.exit_code, 0) << text.output;
  size_t first = text.output.find("watch: ");
  ASSERT_NE(first, std::string::npos) << text.output;
  EXPECT_NE(text.output.find("watch: ", first + 1), std::string::npos) << text.output;
  f.ExpectEqual();
  f.DropSlot();
}

}  // namespace
}  // namespace walferry

namespace walferry {
namespace {

// Waits up to `limit` for `pid` to exit; its wait status, or nullopt (then it is killed).
std::optional<int> ExitWithin(pid_t pid, std::chrono::seconds limit) {
  int status = 0;
  bool exited = PollUntil([&] { return waitpid(pid, &status, WNOHANG) == pid; }, limit);
  if (exited) return status;
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return std::nullopt;
}

// One reader per set: a second `walferry cdc` (and `migrate`) of a set that another walferry streams exits 2 at
// once naming the first reader and writes nothing; it used to retry "slot is active" for cdc.retry_for and take
// over when the first one stopped. The first keeps streaming, its status untouched, and the data ends equal.
TEST(CdcReaders, ASecondCdcOfAStreamedSetIsRefusedNamingTheFirst) {
  CdcFixture f = CdcFixture::Create("readers", "CREATE TABLE t (id int PRIMARY KEY, v text)", {"public.t"});
  const std::string log = std::string(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp") + "/readers-" + f.db + ".log";
  pid_t first = test::SpawnWalferry({"-c", f.config_path, "cdc"}, false, log);
  pg::Connection src = test::ConnectSource(f.db);
  pg::Connection t = test::ConnectTarget(f.db);
  src.Exec("INSERT INTO t SELECT g, 'a' || g FROM generate_series(1, 100) g");
  ASSERT_TRUE(PollUntil([&] { return t.Exec("SELECT count(*) FROM t").GetInt(0, 0) == 100; }))
      << test::ReadWholeFile(log);
  std::string walsender(src.Exec("SELECT active_pid::text FROM pg_replication_slots WHERE slot_name = "
                                 "'walferry_readers'").Get(0, 0));

  for (const std::vector<std::string>& second : std::vector<std::vector<std::string>>{
           {"-c", f.config_path, "cdc"}, {"-c", f.config_path, "cdc", "--set", "readers"},
           {"-c", f.config_path, "migrate"}}) {
    const std::string second_log = log + ".second";
    std::remove(second_log.c_str());
    pid_t pid = test::SpawnWalferry(second, false, second_log);
    std::optional<int> status = ExitWithin(pid, std::chrono::seconds(120));
    ASSERT_TRUE(status.has_value()) << "the second reader did not exit: " << test::ReadWholeFile(second_log);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 2) << test::ReadWholeFile(second_log);
    std::string out = test::ReadWholeFile(second_log);
    EXPECT_NE(out.find("already streamed by another process"), std::string::npos) << out;
    EXPECT_NE(out.find("walsender pid " + walsender), std::string::npos) << out;
    EXPECT_NE(out.find("walferry cdc readers " + std::to_string(first) + "@"), std::string::npos) << out;
  }

  // The first one still streams, and its status row was never marked by the second.
  EXPECT_EQ(waitpid(first, nullptr, WNOHANG), 0) << "the first CDC ended";
  EXPECT_EQ(std::string(src.Exec("SELECT active_pid::text FROM pg_replication_slots WHERE slot_name = "
                                 "'walferry_readers'").Get(0, 0)),
            walsender);
  EXPECT_NE(std::string(t.Exec("SELECT task_status FROM walferry.status WHERE task_name = 'readers'").Get(0, 0)),
            "FAILED");
  src.Exec("UPDATE t SET v = v || '!' WHERE id % 3 = 0; DELETE FROM t WHERE id % 7 = 0");
  src.Exec("INSERT INTO t SELECT g, 'b' || g FROM generate_series(101, 150) g");
  ASSERT_TRUE(PollUntil([&] { return t.Exec("SELECT count(*) FROM t").GetInt(0, 0) == 150 - 14; }))
      << test::ReadWholeFile(log);
  std::optional<int> stopped = test::SignalAndWait(first, SIGINT, std::chrono::seconds(120));
  ASSERT_TRUE(stopped.has_value());
  EXPECT_TRUE(WIFEXITED(*stopped) && WEXITSTATUS(*stopped) == 0) << test::ReadWholeFile(log);
  f.CatchUpExpectEqualAndDropSlot();
}

}  // namespace
}  // namespace walferry

namespace walferry {
namespace {

// A CDC run that applied nothing printed "STOPPED at 0/0": it now says that nothing was applied yet, and the last
// line tells the next step.
TEST(CdcReaders, ARunThatAppliedNothingSaysSo) {
  CdcFixture f = CdcFixture::Create("idle", "CREATE TABLE t (id int PRIMARY KEY)", {"public.t"});
  test::CliResult r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find(" at 0/0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("idle: CAUGHT UP: nothing applied yet"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("next: walferry status"), std::string::npos) << r.output;
  f.ExpectEqual();
  f.DropSlot();
}

}  // namespace
}  // namespace walferry
