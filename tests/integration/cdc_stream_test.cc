// Streaming of in-progress transactions (pgoutput protocol >= 2, `streaming 'on'`; docs/cdc.md "Streaming of large
// transactions"): on a PostgreSQL 16 source (protocol 4) into 17, with logical_decoding_work_mem at its 64kB floor
// so that every transaction of more than a few hundred rows is streamed while it runs. Each test ends with the
// target equal to the source by test::DiffTable, and proves from walferry's own log that the transactions were
// streamed (a test where nothing was streamed would prove nothing).
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "cdc_support.h"

namespace walferry {
namespace {

const bool kVersions = test::SetDefaultClusterVersions(16, 17);

namespace fs = std::filesystem;

void StreamSmallTransactions() {
  pg::Connection s = test::ConnectSource("postgres");
  s.Exec("ALTER SYSTEM SET logical_decoding_work_mem = '64kB'");
  s.Exec("SELECT pg_reload_conf()");
}

// "streamed transactions: N applied at their commit (E of them while they ran on the source), M aborted on the
// source" from the final log line; -1 each when it is missing.
struct Streamed {
  int applied = -1;
  int early = -1;
  int aborted = -1;
};
Streamed StreamedCounts(const std::string& output) {
  std::smatch m;
  static const std::regex re(
      "streamed transactions: ([0-9]+) applied at their commit \\(([0-9]+) of them while they ran on the source\\), "
      "([0-9]+) aborted");
  if (!std::regex_search(output, m, re)) return {};
  return {std::stoi(m[1]), std::stoi(m[2]), std::stoi(m[3])};
}

// `base`: cdc.spill_dir, TMPDIR by default.
fs::path SpillDir(const cdctest::CdcFixture& f, const fs::path& base = fs::temp_directory_path()) {
  return base / ("walferry-stream-walferry_" + f.set);
}

size_t SpillFiles(const cdctest::CdcFixture& f, const fs::path& base = fs::temp_directory_path()) {
  std::error_code ec;
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(SpillDir(f, base), ec)) n += e.path().extension() == ".spill";
  return n;
}

// VmHWM (peak resident set) of a process, in kB; -1 when unreadable.
int64_t PeakRssKb(pid_t pid) {
  std::string status = test::ReadWholeFile("/proc/" + std::to_string(pid) + "/status");
  std::smatch m;
  static const std::regex re("VmHWM:\\s+([0-9]+) kB");
  if (!std::regex_search(status, m, re)) return -1;
  return std::stoll(m[1]);
}

constexpr const char* kSchema =
    "CREATE TABLE t (id int PRIMARY KEY, v text, pad text);"
    "CREATE TABLE dup (a int, b text); ALTER TABLE dup REPLICA IDENTITY FULL;"
    "CREATE TABLE p (id int PRIMARY KEY, v text) PARTITION BY RANGE (id);"
    "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (1000000);"
    "CREATE TABLE p2 PARTITION OF p FOR VALUES FROM (1000000) TO (2000000);"
    "CREATE TABLE gone (id int PRIMARY KEY, v text)";

// `streaming`: cdc.streaming (on: applied while they run, savepoints per subtransaction; spill: from the spill file at
// their commit). Returns walferry's output.
std::string StreamMixedTransactions(const std::string& set, const std::string& streaming) {
  StreamSmallTransactions();
  cdctest::CdcFixture f =
      cdctest::CdcFixture::Create(set, kSchema, {"public.t", "public.dup", "public.p", "public.gone"});
  f.AppendConfig("cdc:\n  streaming: " + streaming + "\n");
  pg::Connection big = test::ConnectSource(f.db);
  pg::Connection small = test::ConnectSource(f.db);
  big.Exec("INSERT INTO gone SELECT g, 'old' FROM generate_series(1, 100) g");
  big.Exec("INSERT INTO p SELECT g, 'old' FROM generate_series(1, 3000) g");
  big.Exec("INSERT INTO dup SELECT g % 5, 'same' FROM generate_series(1, 50) g");  // duplicate FULL-identity rows

  // One large transaction, streamed, with a rolled-back and a released subtransaction, a nested rollback, a
  // TRUNCATE of a whole table and one of a partition (walferry's logical message), updates and deletes of rows of
  // its own and duplicate FULL-identity rows; other transactions commit on another connection meanwhile.
  big.Exec("BEGIN");
  big.Exec("INSERT INTO t SELECT g, 'v' || g, repeat('x', 100) FROM generate_series(1, 20000) g");
  small.Exec("INSERT INTO t VALUES (-1, 'committed before the large one', '')");
  big.Exec("SAVEPOINT s1");
  big.Exec("INSERT INTO t SELECT g, 'rolled back', '' FROM generate_series(20001, 30000) g");
  big.Exec("SAVEPOINT s1a");
  big.Exec("UPDATE t SET v = 'nested, rolled back' WHERE id <= 5000");
  big.Exec("ROLLBACK TO SAVEPOINT s1");
  big.Exec("SAVEPOINT s2");
  big.Exec("INSERT INTO t SELECT g, 'released', '' FROM generate_series(30001, 35000) g");
  big.Exec("SAVEPOINT s3");
  big.Exec("DELETE FROM t WHERE id BETWEEN 30001 AND 30100");
  big.Exec("ROLLBACK TO SAVEPOINT s3");
  big.Exec("RELEASE SAVEPOINT s2");
  small.Exec("INSERT INTO t VALUES (-2, 'committed while the large one runs', '')");
  big.Exec("UPDATE t SET v = 'updated' WHERE id % 7 = 0");
  big.Exec("DELETE FROM t WHERE id % 11 = 0");
  big.Exec("DELETE FROM dup WHERE ctid = (SELECT ctid FROM dup WHERE a = 1 LIMIT 1)");
  big.Exec("UPDATE dup SET b = 'changed' WHERE ctid = (SELECT ctid FROM dup WHERE a = 2 LIMIT 1)");
  big.Exec("TRUNCATE gone");
  big.Exec("INSERT INTO gone SELECT g, 'new' FROM generate_series(1, 2000) g");
  big.Exec("TRUNCATE p1");
  big.Exec("INSERT INTO p SELECT g, 'after the partition truncate' FROM generate_series(1, 2000) g");
  big.Exec("COMMIT");

  // An aborted large transaction, and one whose whole body is a rolled-back subtransaction.
  big.Exec("BEGIN");
  big.Exec("INSERT INTO t SELECT g, 'aborted', '' FROM generate_series(100000, 120000) g");
  big.Exec("ROLLBACK");
  big.Exec("BEGIN");
  big.Exec("SAVEPOINT body");
  big.Exec("INSERT INTO t SELECT g, 'aborted', '' FROM generate_series(100000, 120000) g");
  big.Exec("ROLLBACK TO SAVEPOINT body");
  big.Exec("INSERT INTO t VALUES (-3, 'the only row left', '')");
  big.Exec("COMMIT");
  small.Exec("INSERT INTO t VALUES (-4, 'after', '')");

  test::CliResult r = f.Cdc();
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const Streamed counts = StreamedCounts(r.output);
  EXPECT_GE(counts.applied, 2) << r.output;  // the large one and the one with the rolled-back body
  EXPECT_GE(counts.aborted, 1) << r.output;
  EXPECT_EQ(SpillFiles(f), 0u);
  pg::Connection t = test::ConnectTarget(f.db);
  EXPECT_EQ(test::Count(t, "SELECT count(*) FROM t WHERE v IN ('rolled back', 'aborted', 'nested, rolled back')"), 0);
  // Released s2's rows, less the multiples of 11 deleted later; s3's DELETE was rolled back.
  EXPECT_EQ(test::Count(t, "SELECT count(*) FROM t WHERE id BETWEEN 30001 AND 30100"), 91);
  f.ExpectEqual();
  f.DropSlot();
  return r.output;
}

TEST(CdcStream, SubtransactionsRollbacksAbortsTruncatesAndInterleavedCommitsApplyExactlyOnceWhileTheyRun) {
  const std::string output = StreamMixedTransactions("stream_mix", "on");
  const Streamed counts = StreamedCounts(output);
  // Both were applied while they ran, their rolled-back subtransactions undone by ROLLBACK TO SAVEPOINT.
  EXPECT_EQ(counts.early, counts.applied) << output;
  EXPECT_EQ(output.find("is not applied while it runs any more"), std::string::npos) << output;
}

TEST(CdcStream, SubtransactionsRollbacksAbortsTruncatesAndInterleavedCommitsApplyExactlyOnceAtTheirCommit) {
  const std::string output = StreamMixedTransactions("stream_mix_spill", "spill");
  EXPECT_EQ(StreamedCounts(output).early, 0) << output;
  EXPECT_NE(output.find("applying streamed transaction"), std::string::npos) << output;
}

// The early apply: the rows of a large transaction reach the target while it still runs on the source (written,
// not yet visible), and become visible with its commit.
TEST(CdcStream, ALargeTransactionIsAppliedWhileItRunsAndVisibleOnlyAfterItsCommit) {
  StreamSmallTransactions();
  cdctest::CdcFixture f = cdctest::CdcFixture::Create("stream_early", kSchema, {"public.t"});
  const std::string log = (fs::temp_directory_path() / "stream_early.log").string();
  pid_t pid = test::SpawnWalferry({"-c", f.config_path, "cdc"}, false, log);
  pg::Connection big = test::ConnectSource(f.db);
  pg::Connection t = test::ConnectTarget(f.db);
  big.Exec("BEGIN");
  big.Exec("INSERT INTO t SELECT g, 'v' || g, repeat('x', 100) FROM generate_series(1, 50000) g");
  // Still open on the source: the target's heap of t grows under walferry's open transaction on its apply
  // connection, while no row is visible yet.
  const std::string size = "SELECT pg_relation_size('t')";
  const std::string writing =
      "SELECT count(*) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND l.relation = 't'::regclass "
      "WHERE a.application_name = 'walferry_apply_stream_early' AND a.backend_xid IS NOT NULL "
      "AND l.mode = 'RowExclusiveLock'";
  const bool applied_early = test::PollUntil(
      [&] { return test::Count(t, size) > (1 << 20) && test::Count(t, writing) == 1; }, std::chrono::seconds(180));
  EXPECT_TRUE(applied_early) << "target heap: " << test::Count(t, size) << " bytes\n" << test::ReadWholeFile(log);
  EXPECT_EQ(test::Count(t, "SELECT count(*) FROM t"), 0);
  big.Exec("UPDATE t SET v = 'changed' WHERE id % 1000 = 0");
  big.Exec("COMMIT");
  EXPECT_TRUE(test::PollUntil([&] { return test::Count(t, "SELECT count(*) FROM t") == 50000; },
                              std::chrono::seconds(180)));
  std::optional<int> st = test::SignalAndWait(pid, SIGTERM, std::chrono::seconds(60));
  ASSERT_TRUE(st.has_value());
  const std::string output = test::ReadWholeFile(log);
  EXPECT_EQ(StreamedCounts(output).early, 1) << output;
  EXPECT_NE(output.find("its 50050 rows were applied as they arrived"), std::string::npos) << output;
  EXPECT_EQ(test::Count(t, "SELECT count(*) FROM t WHERE v = 'changed'"), 50);
  // walferry status: the same counters, in --json and in the text.
  test::CliResult js = test::RunWalferry({"--json", "--log-level", "off", "-c", f.config_path, "status"});
  ASSERT_EQ(js.exit_code, 0) << js.output;
  nlohmann::json status = nlohmann::json::parse(js.output);
  ASSERT_EQ(status.size(), 1u) << js.output;
  EXPECT_EQ(status[0]["streaming"]["applied"].get<int64_t>(), 1) << js.output;
  EXPECT_EQ(status[0]["streaming"]["applied_early"].get<int64_t>(), 1) << js.output;
  EXPECT_EQ(status[0]["streaming"]["early_stopped"].get<int64_t>(), 0) << js.output;
  test::CliResult text = test::RunWalferry({"--log-level", "off", "-c", f.config_path, "status"});
  EXPECT_NE(text.output.find("streamed txns        1 applied (1 while they ran on the source, 0 early applies given "
                             "up), 0 aborted on the source"),
            std::string::npos)
      << text.output;
  f.ExpectEqual();
  f.DropSlot();
}

// A transaction applied on the apply connection can wait for a lock of the early transaction on the target that it
// never waited for on the source: here a DELETE of one of several identical rows (REPLICA IDENTITY FULL) picks the
// row the early transaction deleted, not yet committed. The early apply gives up (its transaction rolled back), the
// apply goes on, and the large transaction is applied from its spill file at its commit.
TEST(CdcStream, ALockConflictWithTheApplyConnectionStopsTheEarlyApplyAndNothingIsLost) {
  StreamSmallTransactions();
  cdctest::CdcFixture f = cdctest::CdcFixture::Create("stream_conflict", kSchema, {"public.t", "public.dup"});
  pg::Connection s = test::ConnectSource(f.db);
  pg::Connection big = test::ConnectSource(f.db);
  s.Exec("INSERT INTO dup SELECT g % 5, 'same' FROM generate_series(1, 50) g");
  const std::string log = (fs::temp_directory_path() / "stream_conflict.log").string();
  pid_t pid = test::SpawnWalferry({"-c", f.config_path, "cdc"}, false, log);
  pg::Connection t = test::ConnectTarget(f.db);
  ASSERT_TRUE(test::PollUntil([&] { return test::Count(t, "SELECT count(*) FROM dup") == 50; },
                              std::chrono::seconds(120)));
  big.Exec("BEGIN");
  big.Exec("INSERT INTO t SELECT g, 'v', repeat('x', 100) FROM generate_series(1, 20000) g");
  big.Exec("DELETE FROM dup WHERE ctid = (SELECT ctid FROM dup WHERE a = 1 LIMIT 1)");
  big.Exec("INSERT INTO t SELECT g, 'w', repeat('x', 100) FROM generate_series(20001, 40000) g");
  // The DELETE has reached the early transaction on the target (its block was streamed).
  const std::string deleting =
      "SELECT count(*) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND l.relation = 'dup'::regclass "
      "WHERE a.application_name = 'walferry_apply_stream_conflict' AND l.mode = 'RowExclusiveLock'";
  EXPECT_TRUE(test::PollUntil([&] { return test::Count(t, deleting) == 1; }, std::chrono::seconds(180)))
      << test::ReadWholeFile(log);
  // Another row (a, 'same') deleted and committed on the source meanwhile, applied on the apply connection.
  s.Exec("DELETE FROM dup WHERE ctid = (SELECT ctid FROM dup WHERE a = 1 ORDER BY ctid DESC LIMIT 1)");
  s.Exec("INSERT INTO t VALUES (-1, 'committed while the large one runs', '')");
  EXPECT_TRUE(test::PollUntil([&] { return test::Count(t, "SELECT count(*) FROM t WHERE id = -1") == 1; },
                              std::chrono::seconds(120)))
      << test::ReadWholeFile(log);
  big.Exec("COMMIT");
  EXPECT_TRUE(test::PollUntil([&] { return test::Count(t, "SELECT count(*) FROM t") == 40001; },
                              std::chrono::seconds(180)));
  std::optional<int> st = test::SignalAndWait(pid, SIGTERM, std::chrono::seconds(60));
  ASSERT_TRUE(st.has_value());
  const std::string output = test::ReadWholeFile(log);
  EXPECT_NE(output.find("is not applied while it runs any more (the apply connection waited for one of its locks)"),
            std::string::npos)
      << output;
  const Streamed counts = StreamedCounts(output);
  EXPECT_EQ(counts.applied, 1) << output;
  EXPECT_EQ(counts.early, 0) << output;
  EXPECT_EQ(test::Count(t, "SELECT count(*) FROM dup WHERE a = 1"), 8);
  f.ExpectEqual();
  f.DropSlot();
}

TEST(CdcStream, KilledMidStreamTheSpillIsDiscardedAndTheTransactionAppliedOnce) {
  StreamSmallTransactions();
  cdctest::CdcFixture f = cdctest::CdcFixture::Create("stream_kill", kSchema, {"public.t", "public.dup"});
  // The spill files where cdc.spill_dir says, not in TMPDIR.
  const fs::path spill = fs::temp_directory_path() / "spill elsewhere";
  f.AppendConfig("cdc:\n  spill_dir: '" + spill.string() + "'\n");
  pid_t pid = cdctest::Spawn({"-c", f.config_path, "cdc"});
  pg::Connection big = test::ConnectSource(f.db);
  big.Exec("BEGIN");
  big.Exec("INSERT INTO t SELECT g, 'v', repeat('x', 200) FROM generate_series(1, 30000) g");
  // Mid-stream: the running walferry has spilled part of the open transaction.
  ASSERT_TRUE(test::PollUntil([&] { return SpillFiles(f, spill) > 0; }, std::chrono::seconds(120)));
  EXPECT_EQ(SpillFiles(f), 0u) << "nothing in TMPDIR when cdc.spill_dir is set";
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_GT(SpillFiles(f, spill), 0u);  // left behind by the killed process
  big.Exec("INSERT INTO t SELECT g, 'w', '' FROM generate_series(30001, 40000) g");
  big.Exec("INSERT INTO dup SELECT g % 3, 'd' FROM generate_series(1, 3000) g");
  big.Exec("COMMIT");
  test::CliResult r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_GE(StreamedCounts(r.output).applied, 1) << r.output;
  EXPECT_EQ(SpillFiles(f, spill), 0u);
  pg::Connection t = test::ConnectTarget(f.db);
  EXPECT_EQ(test::Count(t, "SELECT count(*) FROM t"), 40000);
  f.ExpectEqual();
  f.DropSlot();
}

// cdc.streaming: off asks for protocol 1: the same large transaction reaches walferry only after its commit, whole,
// and nothing is spilled locally.
TEST(CdcStream, StreamingOffReceivesALargeTransactionAfterItsCommit) {
  StreamSmallTransactions();
  cdctest::CdcFixture f = cdctest::CdcFixture::Create("stream_off", kSchema, {"public.t"});
  f.AppendConfig("cdc:\n  streaming: off\n");
  pg::Connection big = test::ConnectSource(f.db);
  big.Exec("BEGIN");
  big.Exec("INSERT INTO t SELECT g, 'v', repeat('x', 200) FROM generate_series(1, 20000) g");
  big.Exec("UPDATE t SET v = 'changed' WHERE id % 7 = 0");
  big.Exec("COMMIT");
  test::CliResult r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(StreamedCounts(r.output).applied, 0) << r.output;
  EXPECT_EQ(StreamedCounts(r.output).aborted, 0) << r.output;
  pg::Connection t = test::ConnectTarget(f.db);
  EXPECT_EQ(test::Count(t, "SELECT count(*) FROM t WHERE v = 'changed'"), 2857);
  f.ExpectEqual();
  f.DropSlot();
}

// apply: batch nets the changes of a group and applies them at its commit; a streamed transaction, applied per
// change, must not overtake the netted changes of the transactions before it: it is a batch boundary. Two things
// keep the order: the worker commits the open batch before it (OnStreamCommit), and each stream's own Relation
// message, replayed first, applies the netted rows of its table (Applier::OnRelation). Seen: without the first,
// this case still passes through the second (its debug log shows the batch open when the Stream Commit came).
TEST(CdcStream, UnderBatchApplyAStreamedTransactionIsABatchBoundary) {
  StreamSmallTransactions();
  cdctest::CdcFixture f = cdctest::CdcFixture::Create("stream_batch", kSchema, {"public.t"});
  {
    std::string yaml = test::ReadWholeFile(f.config_path);
    const std::string from = "apply: transactional";
    yaml.replace(yaml.find(from), from.size(), "apply: batch");
    std::ofstream(f.config_path) << yaml;
  }
  pg::Connection s = test::ConnectSource(f.db);
  pg::Connection big = test::ConnectSource(f.db);
  s.Exec("INSERT INTO t SELECT g, 'loaded', '' FROM generate_series(1, 100) g");
  // The small transactions commit while the large one runs, just before it touches the same rows, so that their
  // netted changes are still in the open batch when its Stream Commit follows them in the stream.
  big.Exec("BEGIN");
  big.Exec("INSERT INTO t SELECT g, 'bulk', repeat('x', 100) FROM generate_series(1000, 21000) g");
  for (int i = 0; i < 20; ++i) s.Exec("UPDATE t SET v = 'small " + std::to_string(i) + "' WHERE id IN (1, 2, 3)");
  big.Exec("UPDATE t SET v = 'streamed' WHERE id = 1");
  big.Exec("DELETE FROM t WHERE id = 3");
  big.Exec("UPDATE t SET v = 'streamed late' WHERE id = 2");
  big.Exec("COMMIT");
  for (int i = 0; i < 20; ++i) s.Exec("UPDATE t SET v = 'after " + std::to_string(i) + "' WHERE id IN (2, 4)");
  s.Exec("INSERT INTO t VALUES (3, 'back', '')");
  test::CliResult r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_GE(StreamedCounts(r.output).applied, 1) << r.output;
  f.ExpectEqual();
  f.DropSlot();
}

// A 2,000,000-row transaction: streamed, spilled and applied at its commit with walferry's peak RSS under 256 MB.
TEST(CdcStream, TwoMillionRowTransactionStaysUnder256MB) {
  StreamSmallTransactions();
  cdctest::CdcFixture f = cdctest::CdcFixture::Create("stream_large", kSchema, {"public.t"});
  // The bound is on walferry's own memory, so the walferry measured is built without sanitizers
  // (WALFERRY_UNSANITIZED_BINARY, tests/CMakeLists.txt): in the ASan+UBSan build the executable alone is ~250 MB
  // resident before it does anything (UBSan's per-check static data and its relocations), whatever ASAN_OPTIONS.
  // The sanitized walferry applies streamed transactions in the other tests here, and finishes this one below.
  const std::string log = (fs::temp_directory_path() / "stream_large.log").string();
  pid_t pid = test::SpawnWalferryBinary(WALFERRY_UNSANITIZED_BINARY, {"-c", f.config_path, "cdc"}, false, log);
  pg::Connection s = test::ConnectSource(f.db);
  s.Exec("INSERT INTO t SELECT g, 'row ' || g, repeat('p', 40) FROM generate_series(1, 2000000) g");
  pg::Connection t = test::ConnectTarget(f.db);
  int64_t peak = 0;
  const bool all = test::PollUntil(
      [&] {
        peak = std::max(peak, PeakRssKb(pid));
        return test::Count(t, "SELECT count(*) FROM t") == 2000000;
      },
      std::chrono::seconds(1200), std::chrono::milliseconds(500));
  peak = std::max(peak, PeakRssKb(pid));
  std::optional<int> st = test::SignalAndWait(pid, SIGTERM, std::chrono::seconds(60));
  ASSERT_TRUE(all);
  ASSERT_TRUE(st.has_value());
  // Applied while it ran (cdc.streaming: on), its spill file written all the same.
  EXPECT_NE(test::ReadWholeFile(log).find("its 2000000 rows were applied as they arrived"), std::string::npos)
      << test::ReadWholeFile(log);
  EXPECT_GT(peak, 0);
  EXPECT_LT(peak, 256 * 1024) << "walferry's peak RSS was " << peak / 1024 << " MB";
  std::printf("peak RSS (VmHWM) of %s applying a 2,000,000-row streamed transaction: %lld MB\n",
              WALFERRY_UNSANITIZED_BINARY, static_cast<long long>(peak / 1024));
  test::CliResult r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(SpillFiles(f), 0u);
  f.ExpectEqual();
  f.DropSlot();
}

}  // namespace
}  // namespace walferry
