// Faults while a streamed transaction is applied early (docs/cdc.md "Streaming of large transactions", under
// cdc.streaming: on): the target crashed and restarted while the early transaction is open, the source crashed and
// restarted while it is open (the source transaction is then gone), and walferry killed while the early
// transaction's COMMIT is on its way, so that the next session is sent it again although the target has it. On a
// PostgreSQL 16 source into 17 (protocol 4), logical_decoding_work_mem at its 64kB floor so that every transaction
// of more than a few hundred rows is streamed while it runs. Each test proves from the target that the fault hit
// an early transaction (not an idle walferry), and ends with source and target equal by test::DiffTable and with
// walferry's own counters (`walferry status --json`).
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "cdc_support.h"

namespace walferry {
namespace {

const bool kVersions = test::SetDefaultClusterVersions(16, 17);

namespace fs = std::filesystem;

constexpr const char* kSchema = "CREATE TABLE t (id int PRIMARY KEY, v text, pad text)";

void StreamSmallTransactions() {
  pg::Connection s = test::ConnectSource("postgres");
  s.Exec("ALTER SYSTEM SET logical_decoding_work_mem = '64kB'");
  s.Exec("SELECT pg_reload_conf()");
}

// The set's early transaction on the target: a walferry_apply_<set> session with a transaction id that holds a
// RowExclusiveLock on t (the apply connection has no open group: the early apply commits it first).
bool EarlyTransactionWrites(const cdctest::CdcFixture& f) {
  pg::Connection t = test::ConnectTarget(f.db);
  return test::Count(t, "SELECT count(*) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
                        "AND l.relation = 't'::regclass WHERE a.application_name = 'walferry_apply_" + f.set +
                            "' AND a.backend_xid IS NOT NULL AND l.mode = 'RowExclusiveLock'") == 1;
}

int64_t TargetCount(const cdctest::CdcFixture& f, const std::string& sql) {
  try {
    pg::Connection t = test::ConnectTarget(f.db);
    return test::Count(t, sql);
  } catch (const Error&) {
    return -1;  // the target is starting up
  }
}

// `walferry status --json`'s streaming counters of the set.
nlohmann::json StreamingStatus(const cdctest::CdcFixture& f) {
  test::CliResult js = test::RunWalferry({"--json", "--log-level", "off", "-c", f.config_path, "status"});
  EXPECT_EQ(js.exit_code, 0) << js.output;
  nlohmann::json status = nlohmann::json::parse(js.output, nullptr, false);
  if (status.is_discarded() || status.size() != 1) {
    ADD_FAILURE() << js.output;
    return nlohmann::json::object();
  }
  return status[0]["streaming"];
}

int64_t Counter(const nlohmann::json& streaming, const char* name) {
  return streaming.contains(name) ? streaming[name].get<int64_t>() : -1;
}

// Waits until the target's t holds `rows` rows, then stops walferry (SIGTERM; it must exit 0). Returns its log.
std::string AwaitRowsThenStop(const cdctest::CdcFixture& f, pid_t pid, const std::string& log, int64_t rows) {
  const bool all = test::PollUntil([&] { return TargetCount(f, "SELECT count(*) FROM t") == rows; },
                                   std::chrono::seconds(300));
  std::optional<int> st = test::SignalAndWait(pid, SIGTERM, std::chrono::seconds(60));
  const std::string output = test::ReadWholeFile(log);
  EXPECT_TRUE(all) << "target rows: " << TargetCount(f, "SELECT count(*) FROM t") << "\n" << output;
  EXPECT_TRUE(st && WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << (st ? *st : -1) << "\n" << output;
  return output;
}

// The set's streaming counters (`walferry status --json`) against what the test expects.
struct Streamed {
  int64_t applied, applied_early, aborted, early_stopped;
};
void ExpectStreamed(const cdctest::CdcFixture& f, Streamed want, const std::string& output) {
  const nlohmann::json streaming = StreamingStatus(f);
  EXPECT_EQ(Counter(streaming, "applied"), want.applied) << streaming.dump() << "\n" << output;
  EXPECT_EQ(Counter(streaming, "applied_early"), want.applied_early) << streaming.dump() << "\n" << output;
  EXPECT_EQ(Counter(streaming, "aborted"), want.aborted) << streaming.dump() << "\n" << output;
  EXPECT_EQ(Counter(streaming, "early_stopped"), want.early_stopped) << streaming.dump() << "\n" << output;
}

// 1. The target stopped with -m immediate while the early transaction is open (some of its blocks applied early,
// the source transaction still running), restarted after a while; the source transaction then goes on and commits.
// The early transaction died with the target: walferry retries until the target is back, the walsender sends the
// transaction again from its first block, and it is applied once.
TEST(CdcStreamFaults, TargetCrashWhileAnEarlyTransactionIsOpenLosesAndDoublesNothing) {
  StreamSmallTransactions();
  cdctest::CdcFixture f = cdctest::CdcFixture::Create("sf_target", kSchema, {"public.t"});
  const std::string log = (fs::temp_directory_path() / "sf_target.log").string();
  pid_t pid = test::SpawnWalferry({"-c", f.config_path, "cdc"}, false, log);
  pg::Connection s = test::ConnectSource(f.db);
  pg::Connection big = test::ConnectSource(f.db);
  s.Exec("INSERT INTO t VALUES (-1, 'committed before', '')");
  big.Exec("BEGIN");
  big.Exec("INSERT INTO t SELECT g, 'v' || g, repeat('x', 100) FROM generate_series(1, 30000) g");
  ASSERT_TRUE(test::PollUntil([&] { return EarlyTransactionWrites(f); }, std::chrono::seconds(180)))
      << test::ReadWholeFile(log);
  EXPECT_EQ(TargetCount(f, "SELECT count(*) FROM t"), 1);  // written, not visible
  test::Target().Stop(true);
  // While the target is down: the open transaction goes on, another one commits.
  big.Exec("INSERT INTO t SELECT g, 'w' || g, repeat('y', 100) FROM generate_series(30001, 40000) g");
  s.Exec("INSERT INTO t VALUES (-2, 'committed while the target is down', '')");
  std::this_thread::sleep_for(std::chrono::seconds(5));  // the outage, not a wait for anything
  test::Target().StartOnSamePort();
  big.Exec("UPDATE t SET v = 'changed' WHERE id % 1000 = 0");
  big.Exec("DELETE FROM t WHERE id % 999 = 0");
  big.Exec("COMMIT");
  s.Exec("INSERT INTO t VALUES (-3, 'committed after', '')");
  const std::string output = AwaitRowsThenStop(f, pid, log, 3 + 40000 - 40000 / 999);
  // The crash was noticed and retried, not survived by luck.
  EXPECT_NE(output.find("(retry 1;"), std::string::npos) << output;
  EXPECT_EQ(TargetCount(f, "SELECT count(*) FROM t WHERE v = 'changed'"), 40) << output;
  f.ExpectEqual();
  // One streamed transaction, applied once; after the restart it was applied early again, from its first block.
  // The early apply did not give up: its connection died with the target, and the session with it.
  ExpectStreamed(f, {.applied = 1, .applied_early = 1, .aborted = 0, .early_stopped = 0}, output);
  EXPECT_EQ(output.find("is not applied while it runs any more"), std::string::npos) << output;
  f.DropSlot();
}

// 2. The source stopped with -m immediate while the early transaction is open, restarted: the source transaction is
// gone (it never committed), so nothing of it may reach the target. The early transaction on the target ends with
// the session (its connection closed, or ended by the next session's fence); a later transaction that writes the
// same keys, itself streamed, is applied and committed, neither blocked by the lost one's row locks nor doubled.
TEST(CdcStreamFaults, SourceCrashWhileAnEarlyTransactionIsOpenLeavesNothingOfItOnTheTarget) {
  StreamSmallTransactions();
  cdctest::CdcFixture f = cdctest::CdcFixture::Create("sf_source", kSchema, {"public.t"});
  const std::string log = (fs::temp_directory_path() / "sf_source.log").string();
  pid_t pid = test::SpawnWalferry({"-c", f.config_path, "cdc"}, false, log);
  {
    pg::Connection s = test::ConnectSource(f.db);
    pg::Connection big = test::ConnectSource(f.db);
    s.Exec("INSERT INTO t VALUES (-1, 'committed before', '')");
    big.Exec("BEGIN");
    big.Exec("INSERT INTO t SELECT g, 'lost', repeat('x', 100) FROM generate_series(1, 30000) g");
    ASSERT_TRUE(test::PollUntil([&] { return EarlyTransactionWrites(f); }, std::chrono::seconds(180)))
        << test::ReadWholeFile(log);
    EXPECT_EQ(TargetCount(f, "SELECT count(*) FROM t"), 1);  // written, not visible
    test::Source().Stop(true);  // `big` never commits
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));  // the outage, not a wait for anything
  test::Source().StartOnSamePort();
  pg::Connection s = test::ConnectSource(f.db);
  // The walsender learns that the lost transaction will never end from a record of the running transactions (an
  // online checkpoint writes one; the background writer does too, within 15 s): then it sends its Stream Abort, in
  // the stream before the later transaction, which is then the one applied early.
  s.Exec("CHECKPOINT");
  s.Exec("INSERT INTO t SELECT g, 'later', repeat('z', 100) FROM generate_series(1, 20000) g");
  s.Exec("INSERT INTO t VALUES (-2, 'committed after', '')");
  const std::string output = AwaitRowsThenStop(f, pid, log, 20002);
  EXPECT_NE(output.find("(retry 1;"), std::string::npos) << output;
  EXPECT_EQ(TargetCount(f, "SELECT count(*) FROM t WHERE v = 'lost'"), 0) << output;
  EXPECT_EQ(TargetCount(f, "SELECT count(*) FROM t WHERE v = 'later'"), 20000) << output;
  f.ExpectEqual();
  // The later one, applied while it ran; the lost one sent again by the restarted source, then aborted.
  ExpectStreamed(f, {.applied = 1, .applied_early = 1, .aborted = 1, .early_stopped = 0}, output);
  f.DropSlot();
}

// 1b. Only the early backend ended (an operator's pg_terminate_backend; idle_in_transaction_session_timeout does the
// same), the target up: not a reason to end the session (it would meet the same end again), the early apply gives
// up as for any failure, and the transaction is applied from its spill file at its commit.
TEST(CdcStreamFaults, AnEarlyBackendEndedAloneGivesUpTheEarlyApplyAndTheSpillFileIsApplied) {
  StreamSmallTransactions();
  cdctest::CdcFixture f = cdctest::CdcFixture::Create("sf_backend", kSchema, {"public.t"});
  const std::string log = (fs::temp_directory_path() / "sf_backend.log").string();
  pid_t pid = test::SpawnWalferry({"-c", f.config_path, "cdc"}, false, log);
  pg::Connection big = test::ConnectSource(f.db);
  big.Exec("BEGIN");
  big.Exec("INSERT INTO t SELECT g, 'v' || g, repeat('x', 100) FROM generate_series(1, 30000) g");
  ASSERT_TRUE(test::PollUntil([&] { return EarlyTransactionWrites(f); }, std::chrono::seconds(180)))
      << test::ReadWholeFile(log);
  EXPECT_EQ(TargetCount(f, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name "
                           "= 'walferry_apply_" + f.set + "' AND backend_xid IS NOT NULL"),
            1);
  big.Exec("INSERT INTO t SELECT g, 'w' || g, repeat('y', 100) FROM generate_series(30001, 40000) g");
  big.Exec("COMMIT");
  const std::string output = AwaitRowsThenStop(f, pid, log, 40000);
  EXPECT_NE(output.find("is not applied while it runs any more"), std::string::npos) << output;
  EXPECT_EQ(output.find("(retry 1;"), std::string::npos) << output;  // the session went on
  f.ExpectEqual();
  ExpectStreamed(f, {.applied = 1, .applied_early = 0, .aborted = 0, .early_stopped = 1}, output);
  f.DropSlot();
}

// Resets the target's synchronous_standby_names when the test ends, however it ends.
struct NoSynchronousStandby {
  ~NoSynchronousStandby() {
    try {
      pg::Connection t = test::ConnectTarget("postgres");
      t.Exec("ALTER SYSTEM RESET synchronous_standby_names");
      t.Exec("SELECT pg_reload_conf()");
    } catch (const Error& e) {
      ADD_FAILURE() << "resetting synchronous_standby_names on the target: " << e.what();
    }
  }
};

// 3. The skip path: a streamed transaction that the early apply committed on the target is sent again by the
// walsender, because walferry was killed (-9) before the slot's confirmed position passed it and the next session
// asked for the stream from a checkpoint before it. That happens when the early COMMIT takes effect after the next
// session read the checkpoint: here the target waits at that COMMIT for a synchronous standby that never comes
// (synchronous_standby_names set, cdc.synchronous_commit: on), the killed walferry's backend keeps waiting, and the
// next session's fence ends it, which completes the commit ("committed locally"). The transaction must be skipped at
// its Stream Commit, applied once, and the log and counters must say so: it was not applied early a second time
// (where it would fail on its own rows), nor "applied from its spill file at its commit".
TEST(CdcStreamFaults, AStreamedTransactionSentAgainAfterItsEarlyCommitIsSkippedNotAppliedAgain) {
  StreamSmallTransactions();
  cdctest::CdcFixture f = cdctest::CdcFixture::Create("sf_skip", kSchema, {"public.t"});
  f.AppendConfig("cdc:\n  synchronous_commit: 'on'\n");
  NoSynchronousStandby reset_at_end;
  const std::string log = (fs::temp_directory_path() / "sf_skip.log").string();
  pid_t pid = test::SpawnWalferry({"-c", f.config_path, "cdc"}, false, log);
  pg::Connection s = test::ConnectSource(f.db);
  pg::Connection big = test::ConnectSource(f.db);
  s.Exec("INSERT INTO t VALUES (-1, 'committed before', '')");
  ASSERT_TRUE(test::PollUntil([&] { return TargetCount(f, "SELECT count(*) FROM t") == 1; }))
      << test::ReadWholeFile(log);
  big.Exec("BEGIN");
  big.Exec("INSERT INTO t SELECT g, 'v' || g, repeat('x', 100) FROM generate_series(1, 30000) g");
  ASSERT_TRUE(test::PollUntil([&] { return EarlyTransactionWrites(f); }, std::chrono::seconds(180)))
      << test::ReadWholeFile(log);
  {
    pg::Connection t = test::ConnectTarget("postgres");
    t.Exec("ALTER SYSTEM SET synchronous_standby_names = 'walferry_test_no_such_standby'");
    t.Exec("SELECT pg_reload_conf()");
  }
  const Lsn before_commit = Lsn::Parse(test::Text(s, "SELECT pg_current_wal_lsn()::text"));
  big.Exec("COMMIT");
  // The early COMMIT is written on the target and waits for the standby.
  const std::string waiting = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'walferry_apply_" +
                              f.set + "' AND wait_event = 'SyncRep'";
  ASSERT_TRUE(test::PollUntil([&] { return TargetCount(f, waiting) == 1; }, std::chrono::seconds(180)))
      << test::ReadWholeFile(log);
  EXPECT_EQ(TargetCount(f, "SELECT count(*) FROM t"), 1);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  waitpid(pid, &status, 0);
  // The slot was never told the transaction's commit: the source sends it again.
  const Lsn slot = Lsn::Parse(test::Text(
      s, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'walferry_" + f.set + "'"));
  ASSERT_LE(slot, before_commit);
  // This walferry's own commits must not wait for the standby.
  {
    std::string yaml = test::ReadWholeFile(f.config_path);
    const std::string from = "synchronous_commit: 'on'";
    yaml.replace(yaml.find(from), from.size(), "synchronous_commit: 'off'");
    std::ofstream(f.config_path) << yaml;
  }
  test::CliResult r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // What the test is about happened: the killed process's early COMMIT took effect at the fence, after the new
  // session had asked for the stream from the checkpoint before it; the transaction came again and was skipped.
  ASSERT_NE(r.output.find("while an earlier session was being ended"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("is already on the target (committed before "), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("is not applied while it runs any more"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("applying it now on a second target connection"), std::string::npos) << r.output;
  EXPECT_EQ(TargetCount(f, "SELECT count(*) FROM t"), 30001);
  f.ExpectEqual();
  const nlohmann::json streaming = StreamingStatus(f);
  EXPECT_EQ(Counter(streaming, "early_stopped"), 0) << streaming.dump() << "\n" << r.output;
  EXPECT_EQ(Counter(streaming, "aborted"), 0) << streaming.dump();
  f.DropSlot();
}

}  // namespace
}  // namespace walferry
