// Batch apply (docs/cdc.md "Batch apply"): the same randomized workload applied once with `apply: batch` and once
// with `apply: transactional` must give byte-identical targets, both equal to their source; and batch apply killed
// with SIGKILL at random moments loses and duplicates nothing.
//
// The workload (drawn from a seed; WALFERRY_BATCH_SEED=N runs that seed alone): inserts, updates of keys and
// non-keys, deletes, re-inserts of deleted keys, unique value swaps (which make the set-based UPDATE fail, so the
// batch is replayed per change), updates that leave a TOASTed column unchanged (also with a key change), TRUNCATEs,
// duplicate rows under REPLICA IDENTITY FULL, and rows moving between partitions. It runs on two source databases
// (one per mode); the SQL is deterministic, so both sources end identical, which the test checks too.
#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "cdc_support.h"

namespace walferry {
namespace {

using Txn = std::vector<std::string>;

const char* kDdl =
    "CREATE TABLE kv (k int PRIMARY KEY, v int NOT NULL, t text);"
    "CREATE TABLE acct (id int PRIMARY KEY, email text NOT NULL, n int NOT NULL, doc text);"
    "CREATE TABLE swp (id int PRIMARY KEY, email text NOT NULL UNIQUE);"
    "ALTER TABLE acct ALTER COLUMN doc SET STORAGE EXTERNAL;"
    "CREATE TABLE dup (a int, b text); ALTER TABLE dup REPLICA IDENTITY FULL;"
    "CREATE TABLE part (id int, region int, v int, PRIMARY KEY (id, region)) PARTITION BY LIST (region);"
    "CREATE TABLE part_1 PARTITION OF part FOR VALUES IN (1);"
    "CREATE TABLE part_2 PARTITION OF part FOR VALUES IN (2)";
const std::vector<std::string> kTables = {"public.kv", "public.acct", "public.swp", "public.dup", "public.part"};

std::string N(uint32_t v) { return std::to_string(v); }

// One source transaction's statements; every statement succeeds on a source in any state.
Txn DrawTxn(std::mt19937& rng, int i) {
  Txn t;
  if (i == 0) {
    t.push_back("INSERT INTO kv SELECT g, g, 'x' || g FROM generate_series(1, 300) g");
    t.push_back("INSERT INTO acct SELECT g, 'e' || g, 0, repeat('d', 3000) || g FROM generate_series(1, 60) g");
    t.push_back("INSERT INTO swp SELECT g, 'e' || g FROM generate_series(1, 60) g");
    t.push_back("INSERT INTO part SELECT g, 1 + g % 2, g FROM generate_series(1, 80) g");
    return t;
  }
  if (rng() % 200 == 0) {
    t.push_back("TRUNCATE kv");
    return t;
  }
  const int ops = 1 + static_cast<int>(rng() % 6);
  for (int o = 0; o < ops; ++o) {
    const uint32_t x = rng() % 400, y = rng() % 400, a = 1 + rng() % 70, b = 1 + rng() % 70, p = 1 + rng() % 100;
    switch (rng() % 17) {
      case 0: t.push_back("INSERT INTO kv VALUES (" + N(x) + ", " + N(y) + ", 'i') ON CONFLICT DO NOTHING"); break;
      case 1: t.push_back("UPDATE kv SET v = v + 1, t = t || 'u' WHERE k = " + N(x)); break;
      case 2:
        t.push_back("UPDATE kv SET k = " + N(y) + " WHERE k = " + N(x) + " AND NOT EXISTS (SELECT 1 FROM kv WHERE k = " +
                    N(y) + ")");
        break;
      case 3: t.push_back("DELETE FROM kv WHERE k = " + N(x)); break;
      case 4: t.push_back("UPDATE kv SET v = (v * 7) % 1000 WHERE k BETWEEN " + N(x) + " AND " + N(x + 15)); break;
      case 5:
        t.push_back("INSERT INTO acct VALUES (" + N(a) + ", 'n' || " + N(a) + ", 1, repeat('f', 2500) || " + N(y) +
                    ") ON CONFLICT DO NOTHING");
        break;
      case 6: t.push_back("UPDATE acct SET n = n + 1 WHERE id = " + N(a)); break;  // doc: unchanged TOAST
      case 7: t.push_back("UPDATE acct SET doc = repeat('g', 2800) || n WHERE id = " + N(a)); break;
      case 8:  // a unique swap: three statements on the source, one net UPDATE pair in a batch
        if (rng() % 3 != 0) {  // swaps are rarer than other changes (each one makes the swp batch fall back)
          t.push_back("INSERT INTO swp VALUES (" + N(a) + ", 's' || " + N(y) + ") ON CONFLICT DO NOTHING");
          break;
        }
        t.push_back("DO $$DECLARE ea text; eb text; BEGIN SELECT email INTO ea FROM swp WHERE id = " + N(a) +
                    "; SELECT email INTO eb FROM swp WHERE id = " + N(b) + "; IF ea IS NOT NULL AND eb IS NOT NULL " +
                    "AND ea <> eb THEN UPDATE swp SET email = ea || '#' WHERE id = " + N(a) +
                    "; UPDATE swp SET email = ea WHERE id = " + N(b) + "; UPDATE swp SET email = eb WHERE id = " +
                    N(a) + "; END IF; END$$");
        break;
      case 9:  // delete and re-insert the same key
        t.push_back("DELETE FROM acct WHERE id = " + N(a));
        t.push_back("INSERT INTO acct VALUES (" + N(a) + ", 'r' || " + N(a) + ", 2, repeat('h', 2600)) "
                    "ON CONFLICT DO NOTHING");
        t.push_back("DELETE FROM swp WHERE id = " + N(b));
        break;
      case 10:  // a key change whose new image carries the TOASTed doc as unchanged
        t.push_back("UPDATE acct SET id = " + N(b + 100) + " WHERE id = " + N(a) +
                    " AND NOT EXISTS (SELECT 1 FROM acct WHERE id = " + N(b + 100) + ")");
        break;
      case 11: t.push_back("DELETE FROM acct WHERE id = " + N(a + 100)); break;
      case 12: t.push_back("INSERT INTO dup VALUES (" + N(x % 5) + ", 'same')"); break;
      case 13:
        // ORDER BY b: the row picked must not depend on physical order, which differs between the two sources
        // (rows equal in a and b are interchangeable).
        t.push_back("UPDATE dup SET b = b || '+' WHERE ctid = (SELECT ctid FROM dup WHERE a = " + N(x % 5) +
                    " ORDER BY b LIMIT 1)");
        break;
      case 14:
        t.push_back("DELETE FROM dup WHERE ctid = (SELECT ctid FROM dup WHERE a = " + N(x % 5) +
                    " ORDER BY b DESC LIMIT 1)");
        break;
      case 15:  // a row moves to the other partition
        t.push_back("UPDATE part SET region = 3 - region, v = v + 1 WHERE id = " + N(p) +
                    " AND (SELECT count(*) FROM part WHERE id = " + N(p) + ") = 1");
        break;
      case 16:
        t.push_back("INSERT INTO part VALUES (" + N(p) + ", " + N(1 + x % 2) + ", " + N(y) + ") ON CONFLICT DO NOTHING");
        t.push_back("DELETE FROM part WHERE id = " + N((p + 7) % 100));
        break;
    }
  }
  return t;
}

std::vector<Txn> DrawWorkload(uint32_t seed, int n) {
  std::mt19937 rng(seed);
  std::vector<Txn> out;
  for (int i = 0; i < n; ++i) out.push_back(DrawTxn(rng, i));
  return out;
}

void RunTxns(pg::Connection& c, const std::vector<Txn>& txns, size_t from, size_t to) {
  for (size_t i = from; i < to && i < txns.size(); ++i) {
    c.Exec("BEGIN");
    for (const std::string& s : txns[i]) c.Exec(s);
    c.Exec("COMMIT");
  }
}

// The drawn workload (20,000 transactions of `seed`) run on the source one transaction at a time, in a thread, until
// Finish() or its end.
class BackgroundWorkload {
 public:
  BackgroundWorkload(const std::string& db, uint32_t seed)
      : txns_(DrawWorkload(seed, 20000)), thread_([this, db] {
          pg::Connection c = test::ConnectSource(db);
          for (size_t i = 0; !done_.load() && i < txns_.size(); ++i) RunTxns(c, txns_, i, i + 1);
        }) {}
  ~BackgroundWorkload() { Finish(); }
  void Finish() {
    done_.store(true);
    if (thread_.joinable()) thread_.join();
  }

 private:
  const std::vector<Txn> txns_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// connections: cdc.apply_connections (docs/cdc.md "Two apply connections").
cdctest::CdcFixture Fixture(const std::string& set, bool batch, int connections = 1) {
  cdctest::CdcFixture f = cdctest::CdcFixture::Create(set, kDdl, kTables);
  std::string yaml = test::ReadWholeFile(f.config_path);
  if (batch) {
    // Every table in batch mode, swp (primary key and a separate unique) included, so its swaps fall back.
    yaml.replace(yaml.find("apply: transactional"), 20, "apply: batch");
  }
  std::ofstream(f.config_path) << yaml << "cdc:\n  apply_connections: " << connections << "\n";
  return f;
}

// The table's rows, ordered, as one hash: the same on two targets only if they hold the same rows.
std::string Digest(pg::Connection& c, const std::string& table) {
  return test::Text(c, "SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, E'\\n' ORDER BY x::text)), '') "
                       "FROM " + table + " x");
}

std::vector<uint32_t> Seeds() {
  if (const char* s = std::getenv("WALFERRY_BATCH_SEED")) return {static_cast<uint32_t>(std::stoul(s))};
  return {11, 23, 37};
}

TEST(CdcBatch, BatchAndTransactionalApplyGiveIdenticalTargets) {
  int fell_back = 0;
  for (uint32_t seed : Seeds()) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (WALFERRY_BATCH_SEED=" + std::to_string(seed) + " reruns it)");
    std::cout << "CdcBatch seed " << seed << "\n";
    const std::vector<Txn> txns = DrawWorkload(seed, 1500);
    // Batch on two apply connections: the footprints and the ordered commits are what this compares.
    cdctest::CdcFixture fb = Fixture("b" + std::to_string(seed), true, 2);
    cdctest::CdcFixture ft = Fixture("t" + std::to_string(seed), false);
    pg::Connection sb = test::ConnectSource(fb.db);
    pg::Connection st = test::ConnectSource(ft.db);
    std::string batch_output;
    for (size_t phase = 0; phase < 3; ++phase) {
      RunTxns(sb, txns, phase * 500, phase * 500 + 500);
      RunTxns(st, txns, phase * 500, phase * 500 + 500);
      test::CliResult rb = fb.Cdc();
      ASSERT_EQ(rb.exit_code, 0) << rb.output;
      batch_output += rb.output;
      test::CliResult rt = ft.Cdc();
      ASSERT_EQ(rt.exit_code, 0) << rt.output;
    }
    fb.ExpectEqual();
    ft.ExpectEqual();
    pg::Connection tb = test::ConnectTarget(fb.db);
    pg::Connection tt = test::ConnectTarget(ft.db);
    for (const std::string& table : kTables) {
      EXPECT_EQ(Digest(sb, table), Digest(st, table)) << "the two sources differ: " << table;
      EXPECT_EQ(Digest(tb, table), Digest(tt, table)) << "batch and transactional targets differ: " << table;
    }
    EXPECT_GT(test::Count(tb, "SELECT count(*) FROM acct"), 0);
    // The batch run netted rows and applied them set-based (the status row's counters).
    std::cout << test::Text(tb, "SELECT concat_ws(' ', batches, rows_collapsed, batch_replays, last_batch_replay) "
                                "FROM walferry.status") << "\n";
    EXPECT_GT(test::Count(tb, "SELECT batches FROM walferry.status"), 0);
    EXPECT_GT(test::Count(tb, "SELECT rows_collapsed FROM walferry.status"), 0);
    // ... on two apply connections, the next batch applied while the one before committed (cdc.apply_connections).
    EXPECT_GT(test::Count(tb, "SELECT batches_pipelined FROM walferry.status"), 0);
    EXPECT_EQ(test::Count(tt, "SELECT batches FROM walferry.status"), 0);
    if (batch_output.find("replayed per change") != std::string::npos) ++fell_back;
    // walferry status --json and the text show the same counters.
    test::CliResult js = test::RunWalferry({"--json", "--log-level", "off", "-c", fb.config_path, "status"});
    ASSERT_EQ(js.exit_code, 0) << js.output;
    nlohmann::json status = nlohmann::json::parse(js.output);
    ASSERT_EQ(status.size(), 1u) << js.output;
    EXPECT_EQ(status[0]["batch"]["batches"].get<int64_t>(), test::Count(tb, "SELECT batches FROM walferry.status"));
    EXPECT_GT(status[0]["batch"]["rows_collapsed"].get<int64_t>(), 0) << js.output;
    test::CliResult text = test::RunWalferry({"--log-level", "off", "-c", fb.config_path, "status"});
    EXPECT_NE(text.output.find("row changes collapsed"), std::string::npos) << text.output;
    fb.DropSlot();
    ft.DropSlot();
  }
  // A unique swap inside a batch makes the set-based UPDATE fail: at least one seed must have fallen back.
  EXPECT_GT(fell_back, 0);
}

// A transaction bigger than cdc.batch_max_size is applied set-based in parts inside its target transaction; an
// update of every third row in the next transaction nets onto the inserted rows of the same batch.
TEST(CdcBatch, HalfMillionRowTransactionIsAppliedInPartsWithBoundedMemory) {
  cdctest::CdcFixture f = cdctest::CdcFixture::Create("bbig", "CREATE TABLE t (id int PRIMARY KEY, v text)", {"public.t"});
  std::string yaml = test::ReadWholeFile(f.config_path);
  yaml.replace(yaml.find("apply: transactional"), 20, "apply: batch");
  std::ofstream(f.config_path) << yaml << "cdc:\n  batch_max_size: 16MB\n";
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("INSERT INTO t SELECT g, repeat('x', 100) || g FROM generate_series(1, 500000) g");
  src.Exec("UPDATE t SET v = v || 'u' WHERE id % 3 = 0");
  test::CliResult r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  std::cerr << "peak RSS of walferry (largest child), KB: " << ru.ru_maxrss << "\n";
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(ru.ru_maxrss, 256 * 1024) << "peak RSS of a child in KB";  // ASan's shadow and quarantine inflate it
#endif
  pg::Connection t = test::ConnectTarget(f.db);
  EXPECT_GT(test::Count(t, "SELECT batches FROM walferry.status"), 0);
  f.ExpectEqual();
  f.DropSlot();
}

// The net rows of a batch are applied in parts of Applier's batch_flush_changes (10,000) netted changes, and a
// part's set-based statements are read only when the next part is applied: a unique swap in the first part of a
// big source transaction fails there, is seen one part later, and the batch is still rolled back and replayed per
// change (the staging tables refilled within the transaction before that are never applied).
TEST(CdcBatch, AFailureInAnEarlierPartOfTheBatchIsReplayedPerChange) {
  cdctest::CdcFixture f = Fixture("bpart", true);
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("INSERT INTO swp VALUES (1, 'a'), (2, 'b')");
  test::CliResult first = f.Cdc();  // on the target before the swap (else both net to inserts: no conflict)
  ASSERT_EQ(first.exit_code, 0) << first.output;
  src.Exec("BEGIN");
  src.Exec("UPDATE swp SET email = 'tmp' WHERE id = 1");
  src.Exec("UPDATE swp SET email = 'a' WHERE id = 2");
  src.Exec("UPDATE swp SET email = 'b' WHERE id = 1");
  src.Exec("INSERT INTO kv SELECT g, g, 'x' || g FROM generate_series(1, 25000) g");
  src.Exec("UPDATE kv SET v = v + 1 WHERE k % 7 = 0");
  src.Exec("COMMIT");
  src.Exec("UPDATE kv SET t = t || 'after' WHERE k % 5 = 0");
  test::CliResult r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("replayed per change"), std::string::npos) << r.output;
  pg::Connection t = test::ConnectTarget(f.db);
  EXPECT_GE(test::Count(t, "SELECT batch_replays FROM walferry.status"), 1);
  EXPECT_EQ(test::Text(t, "SELECT string_agg(id || email, ',' ORDER BY id) FROM swp"), "1b,2a");
  f.ExpectEqual();
  f.DropSlot();
}

// A set-based UPDATE that finds fewer target rows than net rows (a row deleted on the target behind walferry's back)
// is checked before the batch commits: nothing of the batch and no checkpoint past it is committed; the replay per
// change then stops the set at the missing row.
TEST(CdcBatch, ASetBasedRowCountMismatchIsNeverCommitted) {
  cdctest::CdcFixture f = Fixture("bmiss", true);
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("INSERT INTO kv SELECT g, g, 'x' FROM generate_series(1, 100) g");
  test::CliResult first = f.Cdc();
  ASSERT_EQ(first.exit_code, 0) << first.output;
  pg::Connection t = test::ConnectTarget(f.db);
  const std::string checkpoint = test::Text(t, "SELECT applied_lsn::text FROM walferry.checkpoint");
  t.Exec("DELETE FROM kv WHERE k = 50");
  src.Exec("UPDATE kv SET v = v + 1");
  src.Exec("INSERT INTO kv VALUES (1000, 1, 'later')");
  test::CliResult r = f.Cdc();
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_EQ(test::Count(t, "SELECT count(*) FROM kv WHERE v <> k OR k = 1000"), 0) << r.output;
  EXPECT_EQ(test::Text(t, "SELECT applied_lsn::text FROM walferry.checkpoint"), checkpoint);
  f.DropSlot();
}

// A column added (on the target, then on the source) between batches of one session: the staging table of the
// old description holds the old columns; the rows after the new Relation message go through a new one, in parts
// (more than 10,000 netted changes each side of the change).
TEST(CdcBatch, AColumnAddedMidSessionIsStagedWithItsNewColumns) {
  cdctest::CdcFixture f = Fixture("bcol", true);
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("INSERT INTO kv SELECT g, g, 'x' || g FROM generate_series(1, 12000) g");
  src.Exec("UPDATE kv SET v = v + 1 WHERE k % 3 = 0");
  pg::Connection t = test::ConnectTarget(f.db);
  t.Exec("ALTER TABLE kv ADD COLUMN w int");
  src.Exec("ALTER TABLE kv ADD COLUMN w int");
  src.Exec("UPDATE kv SET w = k * 2 WHERE k % 2 = 0");
  src.Exec("INSERT INTO kv SELECT g, g, 'y', g FROM generate_series(20001, 32000) g");
  test::CliResult r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(test::Count(t, "SELECT count(*) FROM kv WHERE w IS NOT NULL"), 18000);
  EXPECT_GT(test::Count(t, "SELECT batches FROM walferry.status"), 0);
  // Set-based throughout: a staging table of the wrong shape would fail and be replayed per change (equal too).
  EXPECT_EQ(test::Count(t, "SELECT batch_replays FROM walferry.status"), 0) << r.output;
  f.ExpectEqual();
  f.DropSlot();
}

TEST(CdcBatch, KilledDuringBatchApplyLosesAndDuplicatesNothing) {
  cdctest::CdcFixture f = Fixture("bkill", true, 2);
  BackgroundWorkload workload(f.db, 5);
  std::mt19937 rng(41);
  int kills = 0;
  for (; kills < 10; ++kills) {
    pid_t pid = cdctest::Spawn({"-c", f.config_path, "cdc"});
    std::this_thread::sleep_for(std::chrono::milliseconds(400 + rng() % 1600));  // a random moment, not a wait
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status)) << "walferry ended before it was killed: status " << status;
  }
  workload.Finish();
  test::CliResult r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  pg::Connection t = test::ConnectTarget(f.db);
  EXPECT_GT(test::Count(t, "SELECT batches FROM walferry.status"), 0);
  f.ExpectEqual();
  f.DropSlot();
}

// Two apply connections: in a part of a batch, the net rows of keys the batch in flight changed stay in memory (and
// go on netting) while the others are applied at once; they follow once that batch committed. A backlog of big
// transactions over overlapping key ranges, in batches of 15,000 rows and parts of 10,000 netted changes.
TEST(CdcBatch, KeysOfTheBatchInFlightWaitInMemoryWhileTheOthersAreApplied) {
  cdctest::CdcFixture f = Fixture("bkeep", true, 2);
  // Batches close at 15,000 rows, never by age, and one stays in flight until the next needs it (not when the stream
  // pauses): every part of the next batch meets it.
  f.AppendConfig("  batch_max_rows: 15000\n  batch_max_ms: 60000\n");
  setenv("WALFERRY_CDC_IN_FLIGHT_GRACE_MS", "60000", 1);
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("INSERT INTO kv SELECT g, g, 'x' || g FROM generate_series(1, 20000) g");
  test::CliResult first = f.Cdc();
  ASSERT_EQ(first.exit_code, 0) << first.output;
  for (int i = 0; i < 30; ++i) {
    const int from = (i * 3000) % 20000;
    src.Exec("UPDATE kv SET v = v + " + std::to_string(i + 1) + ", t = t || '" + std::to_string(i % 10) +
             "' WHERE k BETWEEN " + std::to_string(from) + " AND " + std::to_string(from + 4999));
  }
  test::CliResult r = f.Cdc({"--until-caught-up", "--log-level", "debug"});
  unsetenv("WALFERRY_CDC_IN_FLIGHT_GRACE_MS");
  ASSERT_EQ(r.exit_code, 0) << r.output.substr(0, 4000);
  EXPECT_NE(r.output.find("kept until the batch in flight commits"), std::string::npos)
      << "no part kept rows for the batch in flight";
  pg::Connection t = test::ConnectTarget(f.db);
  EXPECT_GT(test::Count(t, "SELECT batches_pipelined FROM walferry.status"), 0);
  EXPECT_EQ(test::Count(t, "SELECT batch_replays FROM walferry.status"), 0) << r.output.substr(0, 4000);
  f.ExpectEqual();
  f.DropSlot();
}

// Two apply connections (docs/cdc.md "Two apply connections"): walferry killed where only the order of the two
// connections' commits keeps the target consistent: a group in flight on one connection and none committed after it
// (group_sent), and the group in flight just committed while the next one is half applied, uncommitted, on the
// other connection (in_flight_committed); each point several times into the run, under a running workload.
TEST(CdcBatch, KilledBetweenTheTwoConnectionsCommitsLosesAndDuplicatesNothing) {
  cdctest::CdcFixture f = Fixture("bpipe", true, 2);
  BackgroundWorkload workload(f.db, 7);
  int kills = 0;
  for (const std::string point : {"group_sent", "in_flight_committed"}) {
    for (int n : {1, 3, 6}) {
      const std::string at = point + ":" + std::to_string(n);
      setenv("WALFERRY_CDC_KILL_AT", at.c_str(), 1);
      pid_t pid = cdctest::Spawn({"-c", f.config_path, "cdc"});
      unsetenv("WALFERRY_CDC_KILL_AT");
      int status = 0;
      const bool ended = test::PollUntil([&] { return waitpid(pid, &status, WNOHANG) == pid; },
                                         std::chrono::seconds(120));
      if (!ended) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
      }
      EXPECT_TRUE(ended && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
          << "walferry did not reach " << at << " (status " << status << ")";
      ++kills;
    }
  }
  workload.Finish();
  test::CliResult r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  pg::Connection t = test::ConnectTarget(f.db);
  EXPECT_GT(test::Count(t, "SELECT batches_pipelined FROM walferry.status"), 0);
  EXPECT_EQ(kills, 6);
  f.ExpectEqual();
  f.DropSlot();
}

}  // namespace
}  // namespace walferry
