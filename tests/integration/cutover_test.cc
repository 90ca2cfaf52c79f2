// walferry cutover: the switch under a writer (its session ended by --terminate-sessions), with owned, identity and
// standalone sequences and large objects created, changed and unlinked after the load; killed after each step and
// rerun; --abort after every step. Each test ends with every table, every sequence and every large object compared
// source vs target, the slots gone and the source read-only.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "pg/quote.h"
#include "support/clusters.h"
#include "support/same_objects.h"

namespace walferry {
namespace {

using test::Count;
using test::Text;

const char* kSchema =
    "CREATE TABLE orders (id bigserial PRIMARY KEY, v text); "
    "CREATE TABLE items (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text); "
    "CREATE SEQUENCE tickets START 100; "
    // Not called: the next value is the start, or what setval(..., false) said; only the relation itself shows it.
    "CREATE SEQUENCE \"Never Called\" START 7; CREATE SEQUENCE \"Set Not Called\"; "
    "SELECT setval('\"Set Not Called\"', 50, false); "
    "CREATE TABLE docs (id int PRIMARY KEY, lo oid); "
    // A sequence in a schema without tables of the sets, called by a set table's default (found by the matrix).
    "CREATE SCHEMA ids; CREATE SEQUENCE ids.order_id START 1000; "
    "ALTER TABLE orders ADD COLUMN ref bigint DEFAULT nextval('ids.order_id'); "
    "INSERT INTO orders (v) SELECT 'o' || g FROM generate_series(1, 100) g; "
    "INSERT INTO items (v) SELECT 'i' || g FROM generate_series(1, 100) g; "
    "SELECT nextval('tickets'); "
    "INSERT INTO docs SELECT g, lo_from_bytea(0, convert_to(repeat('doc' || g, 1000), 'UTF8')) "
    "FROM generate_series(1, 5) g";

// Writes of every kind the cutover must carry: rows, the three kinds of sequence, large objects created, changed
// and unlinked.
void Write(pg::Connection& src, int round) {
  std::string r = std::to_string(round);
  src.Exec("INSERT INTO orders (v) SELECT 'w" + r + "-' || g FROM generate_series(1, 20) g");
  src.Exec("INSERT INTO items (v) SELECT 'w" + r + "-' || g FROM generate_series(1, 20) g");
  src.Exec("SELECT nextval('tickets') FROM generate_series(1, 7)");
  src.Exec("INSERT INTO docs VALUES (100 + " + r + ", lo_from_bytea(0, '\\x0001ff'::bytea || '" + r + "'::bytea))");
  src.Exec("SELECT lo_put(lo, 0, '\\x42'::bytea) FROM docs WHERE id = 1");
  src.Exec("SELECT lo_unlink(lo) FROM docs WHERE id = " + std::to_string(1 + round % 4 + 1));
  src.Exec("DELETE FROM docs WHERE id = " + std::to_string(1 + round % 4 + 1));
}

struct Migration {
  std::string db;
  std::string config;

  std::string a, b;  // set names: slots are cluster-wide, so each test has its own

  static Migration Loaded(const std::string& prefix) {
    Migration m;
    m.a = prefix + "a";
    m.b = prefix + "b";
    m.db = test::FreshDatabase();
    test::Source().Psql(m.db, kSchema);
    m.config = "/tmp/walferry-" + m.db + ".yaml";
    std::ofstream y(m.config);
    y << "version: 1\nsource: \"" << test::Source().Uri(m.db) << "\"\ntarget: \"" << test::Target().Uri(m.db)
      << "\"\nsets:\n  - name: " << m.a << "\n    tables:\n      - name: public.orders\n      - name: public.items\n"
      << "  - name: " << m.b << "\n    tables:\n      - name: public.docs\n";
    y.close();
    test::CliResult r = test::RunWalferry({"-c", m.config, "load"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return m;
  }

  test::CliResult Cutover(std::vector<std::string> extra, std::vector<std::string> env = {}) const {
    std::vector<std::string> args = {"-c", config, "cutover"};
    args.insert(args.end(), extra.begin(), extra.end());
    return test::RunWalferry(args, env);
  }

  // Every table, sequence and large object, source vs target; the slots gone; the source read-only.
  void ExpectSwitched() const {
    pg::Connection s = test::ConnectSource(db);
    pg::Connection t = test::ConnectTarget(db);
    test::ExpectSameObjects(s, t, {{"public.orders", "public.items", "public.docs"},
                                   {"orders_id_seq", "items_id_seq", "tickets", "\"Never Called\"",
                                    "\"Set Not Called\"", "ids.order_id"}});
    EXPECT_EQ(Count(s, "SELECT count(*) FROM pg_replication_slots WHERE slot_name IN ('walferry_" + a +
                           "', 'walferry_" + b + "')"), 0);
    EXPECT_EQ(Count(s, "SELECT count(*) FROM pg_publication"), 0);
    pg::Connection fresh = test::ConnectSource(db);
    EXPECT_EQ(Text(fresh, "SHOW default_transaction_read_only"), "on");
    EXPECT_TRUE(test::PollUntil([&] {
      return Count(t, "SELECT count(*) FROM pg_stat_user_tables WHERE relname IN ('orders', 'items', 'docs') "
                      "AND last_analyze IS NOT NULL") == 3;
    }, std::chrono::seconds(30))) << "the target's tables are analyzed";
  }

  void MakeSourceWritable() const {
    pg::Connection s = test::ConnectSource(db);
    test::ResetReadOnly(s, db);
  }
};

TEST(Cutover, UnderAWriterCarriesSequencesAndLargeObjectsAndLeavesTheSourceReadOnly) {
  Migration m = Migration::Loaded("w");
  {
    pg::Connection src = test::ConnectSource(m.db);
    for (int round = 1; round <= 3; ++round) Write(src, round);
  }
  // CDC has run for a while (and stopped); a writer keeps writing through a session from before the switch.
  ASSERT_EQ(test::RunWalferry({"-c", m.config, "cdc", "--until-caught-up"}).exit_code, 0);
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    try {
      pg::Connection w = test::ConnectSource(m.db);
      while (!stop) {
        w.Exec("INSERT INTO orders (v) VALUES ('live'); SELECT nextval('tickets')");
        ++written;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    } catch (const Error&) {
      // --terminate-sessions ended this session: the application is cut off, as intended.
    }
  });
  ASSERT_TRUE(test::PollUntil([&] { return written.load() > 20; }));
  // A stray call on the target: the cutover gives both sequences back the source's state (not called).
  test::ConnectTarget(m.db).Exec("SELECT nextval('\"Never Called\"'), nextval('\"Set Not Called\"')");
  test::CliResult r = m.Cutover({"--terminate-sessions"});
  stop = true;
  writer.join();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("cutover complete"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("downtime (writes stopped -> target ready)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("stays READ-ONLY"), std::string::npos) << r.output;
  m.ExpectSwitched();
  pg::Connection fresh = test::ConnectSource(m.db);
  EXPECT_THROW(fresh.Exec("INSERT INTO orders (v) VALUES ('too late')"), Error);
  // validate after the switch compares the frozen source as it is (no CDC, no slot to wait for).
  r = test::RunWalferry({"-c", m.config, "validate", "--wait-seconds", "5"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // Rerun: nothing left to do.
  r = m.Cutover({});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("completed by an earlier run"), std::string::npos) << r.output;
  // The application's identity column still works on the target (its sequence was set).
  pg::Connection t = test::ConnectTarget(m.db);
  t.Exec("INSERT INTO items (v) VALUES ('after the switch'); INSERT INTO orders (v) VALUES ('after')");
  m.MakeSourceWritable();
}

TEST(Cutover, KilledAfterEachStepContinuesAndAbortMakesTheSourceWritable) {
  Migration m = Migration::Loaded("k");
  int round = 0;
  auto write = [&] {
    pg::Connection src = test::ConnectSource(m.db);
    Write(src, ++round);
  };
  auto killed_after = [&](const std::string& step) {
    test::CliResult r = m.Cutover({"--writes-stopped"}, {"WALFERRY_CUTOVER_KILL_AFTER=" + step});
    EXPECT_NE(r.exit_code, 0) << step << ": " << r.output;
    pg::Connection t = test::ConnectTarget(m.db);
    EXPECT_EQ(Text(t, "SELECT step FROM walferry.cutover"), step);
  };
  write();
  killed_after("stopping_writes");
  EXPECT_EQ(Text(test::ConnectSource(m.db), "SHOW default_transaction_read_only"), "on");
  test::CliResult st = test::RunWalferry({"-c", m.config, "status"});
  EXPECT_NE(st.output.find("lifecycle: cutover in progress (last step stopping_writes): no database takes the "
                           "application's writes now; the source is READ-ONLY for new sessions"),
            std::string::npos)
      << st.output;
  // --abort: writable again, and the migration goes on.
  test::CliResult r = m.Cutover({"--abort"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Text(test::ConnectSource(m.db), "SHOW default_transaction_read_only"), "off");
  write();
  killed_after("writes_stopped");
  killed_after("caught_up");
  // --abort from a later point: CDC resumes from where it was.
  ASSERT_EQ(m.Cutover({"--abort"}).exit_code, 0);
  write();
  ASSERT_EQ(test::RunWalferry({"-c", m.config, "cdc", "--until-caught-up"}).exit_code, 0);
  write();
  killed_after("sequences");
  killed_after("large_objects");
  killed_after("validated");
  killed_after("target_ready");
  r = m.Cutover({"--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  m.ExpectSwitched();
  r = m.Cutover({"--abort"});
  EXPECT_EQ(r.exit_code, 2) << "after the switch the slots are gone: --abort refuses\n" << r.output;
  m.MakeSourceWritable();
}

// --abort from every point before the end: the source takes writes again and CDC goes on from where it was.
TEST(Cutover, AbortAfterAnyStepMakesTheSourceWritableAndCdcResumes) {
  Migration m = Migration::Loaded("x");
  int round = 0;
  for (const char* step : {"stopping_writes", "writes_stopped", "caught_up", "sequences", "large_objects",
                           "validated", "target_ready"}) {
    {
      pg::Connection src = test::ConnectSource(m.db);
      Write(src, ++round);
    }
    test::CliResult r = m.Cutover({"--writes-stopped"}, {std::string("WALFERRY_CUTOVER_KILL_AFTER=") + step});
    EXPECT_NE(r.exit_code, 0) << step << ": " << r.output;
    r = m.Cutover({"--abort"});
    ASSERT_EQ(r.exit_code, 0) << step << ": " << r.output;
    pg::Connection src = test::ConnectSource(m.db);
    EXPECT_EQ(Text(src, "SHOW default_transaction_read_only"), "off") << step;
    src.Exec("INSERT INTO orders (v) VALUES ('after abort')");
    r = test::RunWalferry({"-c", m.config, "cdc", "--until-caught-up"});
    ASSERT_EQ(r.exit_code, 0) << step << ": " << r.output;
    pg::Connection t = test::ConnectTarget(m.db);
    for (const char* table : {"public.orders", "public.items", "public.docs"}) {
      EXPECT_EQ(test::DiffTable(src, t, table), "") << step << " " << table;
    }
  }
  test::CliResult r = m.Cutover({"--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  m.ExpectSwitched();
  m.MakeSourceWritable();
}

// walferry cdc keeps streaming every set in another process while cutover runs under a writer: the cdc process reads
// the final position from the control schema, stops there and exits; cutover waits for it and finishes.
TEST(Cutover, ACdcStreamingElsewhereStopsAtTheFinalPositionAndTheCutoverFinishes) {
  Migration m = Migration::Loaded("p");
  const std::string log = "/tmp/walferry-" + m.db + "-cdc.log";
  pid_t cdc = test::SpawnWalferry({"-c", m.config, "cdc"}, false, log);
  pg::Connection src = test::ConnectSource(m.db);
  ASSERT_TRUE(test::PollUntil([&] {
    return Count(src, "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'walferry_p%' AND active") == 2;
  }));
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    try {
      pg::Connection w = test::ConnectSource(m.db);
      for (int round = 1; !stop; ++round) {
        Write(w, round);
        ++written;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    } catch (const Error&) {
      // ended by --terminate-sessions
    }
  });
  ASSERT_TRUE(test::PollUntil([&] { return written.load() > 5; }));
  test::CliResult r = m.Cutover({"--terminate-sessions"});
  stop = true;
  writer.join();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("streamed by another walferry process"), std::string::npos) << r.output;
  int status = -1;
  ASSERT_TRUE(test::PollUntil([&] { return waitpid(cdc, &status, WNOHANG) == cdc; }, std::chrono::seconds(60)))
      << "walferry cdc stops by itself at the final position";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  std::ifstream in(log);
  std::string cdc_log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(cdc_log.find("stopping at its final position"), std::string::npos) << cdc_log;
  m.ExpectSwitched();
  m.MakeSourceWritable();
}

TEST(Cutover, KeepSlotsLeavesThemForCleanup) {
  Migration m = Migration::Loaded("s");
  {
    pg::Connection src = test::ConnectSource(m.db);
    Write(src, 1);
  }
  test::CliResult r = m.Cutover({"--writes-stopped", "--keep-slots", "--no-validate"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  pg::Connection src = test::ConnectSource(m.db);
  EXPECT_EQ(Count(src, "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'walferry_s%'"), 2)
      << "--keep-slots";
  pg::Connection t = test::ConnectTarget(m.db);
  for (const char* table : {"public.orders", "public.items", "public.docs"}) {
    EXPECT_EQ(test::DiffTable(src, t, table), "") << table;
  }
  ASSERT_EQ(test::RunWalferry({"-c", m.config, "cleanup"}).exit_code, 0);
  m.ExpectSwitched();
  m.MakeSourceWritable();
}

// A cutover before any load refused saying "nothing was changed" after it had created the control schema on the
// target. Now it changes nothing at all.
TEST(Cutover, BeforeAnyLoadItRefusesAndCreatesNothing) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, "CREATE TABLE t (id int PRIMARY KEY)");
  std::string config = test::WriteConfig(db, "sets:\n  - name: early\n    tables:\n      - name: public.t\n");
  test::CliResult r = test::RunWalferry({"-c", config, "cutover", "--writes-stopped"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("nothing was changed"), std::string::npos) << r.output;
  pg::Connection t = test::ConnectTarget(db);
  EXPECT_EQ(test::Count(t, "SELECT count(*) FROM pg_namespace WHERE nspname = 'walferry'"), 0);
  pg::Connection s = test::ConnectSource(db);
  EXPECT_EQ(test::Text(s, "SHOW default_transaction_read_only"), "off");
}

// The final validation counts every difference it found: a large object changed on the target after the cutover's
// large-object step (through the kill hook) fails the cutover naming one difference (it said "found 0 differences":
// only table rows were counted), the source read-only; an abort and a new cutover end equal.
TEST(Cutover, TheFinalValidationCountsALargeObjectThatDiffers) {
  Migration m = Migration::Loaded("lodiff");
  test::CliResult r = m.Cutover({"--writes-stopped"}, {"WALFERRY_CUTOVER_KILL_AFTER=large_objects"});
  ASSERT_NE(r.exit_code, 0) << r.output;
  {
    pg::Connection t = test::ConnectTarget(m.db);
    t.Exec("SELECT lo_put(lo, 0, '\\x58'::bytea) FROM docs WHERE id = 1");
  }
  r = m.Cutover({"--writes-stopped"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("found 1 differences"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("READ-ONLY"), std::string::npos) << r.output;
  ASSERT_EQ(m.Cutover({"--abort"}).exit_code, 0);
  r = m.Cutover({"--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  m.ExpectSwitched();
  m.MakeSourceWritable();
}

}  // namespace
}  // namespace walferry
