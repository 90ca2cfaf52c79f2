// walferry cutover --fallback, walferry fallback, --switch-back, --end: after the switch the application writes on
// the target (rows, a keyless table, a partition truncated, the three kinds of sequence, large objects created,
// changed, unlinked and given to another owner) while `walferry fallback` carries them back to the old source and
// is killed with SIGKILL on the way; the switch back then makes the old source the primary again. Each test ends
// with every table, sequence and large object compared, old source vs target, nothing duplicated. Then the paths
// around it (issue 18): an aborted cutover's fallback is never reused, a switch back's abort never leaves two
// writable primaries, the target takes no application write before the reverse slot exists, the large-object step
// touches only the migration's large objects, two sources into one target database each have their own way back,
// and cleanup keeps a live way back unless --fallback.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "lifecycle/fallback.h"
#include "pg/quote.h"
#include "support/clusters.h"
#include "support/same_objects.h"

namespace walferry {
namespace {

using test::Count;
using test::Text;

const char* kSchema =
    "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lo_keeper') THEN CREATE ROLE lo_keeper; "
    "END IF; END $$; "
    "CREATE TABLE orders (id bigserial PRIMARY KEY, v text); "
    "CREATE TABLE items (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text); "
    "CREATE TABLE \"Log Rows\" (v text); "  // no key: a row applied twice would show
    "ALTER TABLE \"Log Rows\" REPLICA IDENTITY FULL; "
    "CREATE TABLE measures (id int, part int, v text, PRIMARY KEY (id, part)) PARTITION BY LIST (part); "
    "CREATE TABLE measures_1 PARTITION OF measures FOR VALUES IN (1); "
    "CREATE TABLE measures_2 PARTITION OF measures FOR VALUES IN (2); "
    "CREATE SEQUENCE tickets START 100; "
    "CREATE TABLE docs (id int PRIMARY KEY, lo oid); "
    "INSERT INTO orders (v) SELECT 'o' || g FROM generate_series(1, 100) g; "
    "INSERT INTO items (v) SELECT 'i' || g FROM generate_series(1, 100) g; "
    "INSERT INTO measures SELECT g, 1 + g % 2, 'm' FROM generate_series(1, 50) g; "
    "SELECT nextval('tickets'); "
    "INSERT INTO docs SELECT g, lo_from_bytea(0, convert_to(repeat('doc' || g, 1000), 'UTF8')) "
    "FROM generate_series(1, 5) g";

const std::vector<const char*> kTables = {"public.orders", "public.items", "public.\"Log Rows\"", "public.measures",
                                          "public.docs"};

struct Migration {
  std::string db;
  std::string config;
  std::string a, b;

  // Loaded, caught up and switched with --fallback.
  static Migration SwitchedWithFallback(const std::string& prefix) {
    Migration m = Loaded(prefix);
    test::CliResult r = m.Run({"cutover", "--fallback", "--writes-stopped"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("start walferry fallback now"), std::string::npos) << r.output;
    return m;
  }

  // Loaded, with a write on the source after the load (not cut over).
  static Migration Loaded(const std::string& prefix) {
    Migration m;
    m.a = prefix + "a";
    m.b = prefix + "b";
    m.db = test::FreshDatabase();
    test::Source().Psql(m.db, kSchema);
    test::Target().Psql("postgres", "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lo_keeper') "
                                    "THEN CREATE ROLE lo_keeper; END IF; END $$");
    m.config = "/tmp/walferry-" + m.db + ".yaml";
    std::ofstream y(m.config);
    y << "version: 1\nsource: \"" << test::Source().Uri(m.db) << "\"\ntarget: \"" << test::Target().Uri(m.db)
      << "\"\nsets:\n  - name: " << m.a << "\n    tables:\n      - name: public.orders\n      - name: public.items\n"
      << "      - name: public.\"Log Rows\"\n      - name: public.measures\n"
      << "  - name: " << m.b << "\n    tables:\n      - name: public.docs\n";
    y.close();
    test::CliResult r = test::RunWalferry({"-c", m.config, "load"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    {
      pg::Connection src = test::ConnectSource(m.db);
      src.Exec("INSERT INTO orders (v) VALUES ('before the switch'); INSERT INTO \"Log Rows\" VALUES ('s')");
    }
    return m;
  }

  test::CliResult Run(std::vector<std::string> args, std::vector<std::string> env = {}) const {
    args.insert(args.begin(), {"-c", config});
    return test::RunWalferry(args, env);
  }

  // The reverse slot on the target, found without the naming rule (so that a test of it can fail).
  std::string FallbackSlot() const {
    pg::Connection t = test::ConnectTarget(db);
    return Text(t, "SELECT coalesce(string_agg(slot_name, ',' ORDER BY slot_name), '') FROM pg_replication_slots "
                   "WHERE slot_name LIKE 'walferry_fallback%' AND database = current_database()");
  }

  int64_t FallbackSlots() const {
    pg::Connection t = test::ConnectTarget(db);
    return Count(t, "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'walferry_fallback%' AND "
                    "database = current_database()");
  }

  // The switch back, then every table, sequence and large object compared; the target made writable again after.
  void SwitchBackAndExpectEqual(const std::string& when) const {
    test::CliResult r = Run({"fallback", "--switch-back", "--writes-stopped"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    ExpectEqual(when + (when.empty() ? "" : ", ") + "after the switch back");
    EXPECT_EQ(Text(test::ConnectSource(db), "SHOW default_transaction_read_only"), "off") << "the old source writes";
    pg::Connection t = test::ConnectTarget(db);
    test::ResetReadOnly(t, db);
  }

  // Every table, old source vs target (what the fallback's CDC carries).
  void ExpectTablesEqual(const std::string& when) const {
    pg::Connection s = test::ConnectSource(db);
    pg::Connection t = test::ConnectTarget(db);
    for (const char* table : kTables) EXPECT_EQ(test::DiffTable(s, t, table), "") << when << ": " << table;
  }

  // Every table, sequence and large object (contents and owner), old source vs target.
  void ExpectEqual(const std::string& when) const {
    ExpectTablesEqual(when);
    pg::Connection s = test::ConnectSource(db);
    pg::Connection t = test::ConnectTarget(db);
    test::ExpectSameObjects(s, t, {{}, {"orders_id_seq", "items_id_seq", "tickets"}, true, true}, when);
  }
};

// What the application does on the target after the switch, round by round.
void WriteOnTarget(pg::Connection& t, int round) {
  const std::string r = std::to_string(round);
  t.Exec("INSERT INTO orders (v) SELECT 't" + r + "-' || g FROM generate_series(1, 10) g");
  t.Exec("INSERT INTO items (v) VALUES ('t" + r + "')");
  t.Exec("UPDATE orders SET v = v || '+' WHERE id % 7 = " + std::to_string(round % 7));
  t.Exec("DELETE FROM items WHERE id = " + std::to_string(round));
  t.Exec("INSERT INTO \"Log Rows\" VALUES ('same'), ('same'), ('t" + r + "')");
  t.Exec("SELECT nextval('tickets') FROM generate_series(1, 3)");
  t.Exec("INSERT INTO measures VALUES (1000 + " + r + ", 1 + " + r + " % 2, 'moved'); "
         "UPDATE measures SET part = 3 - part WHERE id = " + std::to_string(round));  // a row changes partition
  t.Exec("INSERT INTO docs VALUES (100 + " + r + ", lo_from_bytea(0, '\\x00ff'::bytea || '" + r + "'::bytea))");
  t.Exec("SELECT lo_put(lo, 0, '\\x42'::bytea) FROM docs WHERE id = 1");
  if (round <= 4) {
    t.Exec("SELECT lo_unlink(lo) FROM docs WHERE id = " + std::to_string(round + 1));
    t.Exec("DELETE FROM docs WHERE id = " + std::to_string(round + 1));
  }
}

TEST(Fallback, TargetWritesReachTheOldSourceExactlyOnceThroughAKillAndSwitchBackMakesItThePrimary) {
  Migration m = Migration::SwitchedWithFallback("f");
  ASSERT_EQ(m.FallbackSlots(), 1) << "cutover --fallback created the reverse slot on the target";
  m.ExpectEqual("after the switch");
  pg::Connection src = test::ConnectSource(m.db);
  EXPECT_EQ(Text(src, "SHOW default_transaction_read_only"), "on") << "the old source stays read-only";
  const std::string line = "fallback (target -> old source) " + m.FallbackSlot().substr(9) + ": ";
  test::CliResult st = m.Run({"status"});
  EXPECT_NE(st.output.find(line + "not started (walferry fallback)"), std::string::npos) << st.output;

  const std::string log = "/tmp/walferry-" + m.db + "-fallback.log";
  pid_t fallback = test::SpawnWalferry({"-c", m.config, "fallback"}, false, log);
  std::atomic<bool> stop{false};
  std::atomic<int> rounds{0};
  std::thread writer([&] {
    pg::Connection t = test::ConnectTarget(m.db);
    while (!stop && rounds < 40) {
      WriteOnTarget(t, ++rounds);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  // Killed once the old source has some of the target's writes, in the middle of the stream.
  ASSERT_TRUE(test::PollUntil([&] { return Count(src, "SELECT count(*) FROM \"Log Rows\" WHERE v <> 's'") >= 15; }));
  kill(fallback, SIGKILL);
  int status = 0;
  waitpid(fallback, &status, 0);
  fallback = test::SpawnWalferry({"-c", m.config, "fallback"}, false, log);
  writer.join();
  ASSERT_GE(rounds.load(), 10);
  {
    pg::Connection t = test::ConnectTarget(m.db);
    ASSERT_GT(Count(t, "SELECT count(*) FROM measures_2"), 0);
    t.Exec("TRUNCATE measures_2");  // one partition: carried by the trigger on the target
    t.Exec("ALTER LARGE OBJECT " + Text(t, "SELECT lo::text FROM docs WHERE id = 1") + " OWNER TO lo_keeper");
  }
  // The switch back while walferry fallback streams: the fallback stops at the final position by itself.
  ASSERT_TRUE(test::PollUntil([&] {
    pg::Connection t = test::ConnectTarget(m.db);
    return Count(t, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + m.FallbackSlot() +
                        "' AND active") == 1;
  }));
  ASSERT_TRUE(test::PollUntil([&] {
    std::string out = m.Run({"status"}).output;
    return out.find(line + "CHANGE PROCESSING") != std::string::npos ||
           out.find(line + "CAUGHT UP") != std::string::npos;
  })) << m.Run({"status"}).output;
  test::CliResult r = m.Run({"fallback", "--switch-back", "--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("streamed by another walferry process"), std::string::npos) << r.output;
  ASSERT_TRUE(test::PollUntil([&] { return waitpid(fallback, &status, WNOHANG) == fallback; }, std::chrono::seconds(60)))
      << "walferry fallback stops by itself at the final position";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  EXPECT_NE(r.output.find("switched back"), std::string::npos) << r.output;
  m.ExpectEqual("after the switch back");
  EXPECT_EQ(Count(src, "SELECT count(*) FROM measures_2"), 0) << "the partition's TRUNCATE came back";
  EXPECT_GT(Count(src, "SELECT count(*) FROM \"Log Rows\" WHERE v = 'same'"), 0);
  EXPECT_EQ(m.FallbackSlots(), 0) << "the switch back drops the reverse slot";
  pg::Connection fresh_source = test::ConnectSource(m.db);
  EXPECT_EQ(Text(fresh_source, "SHOW default_transaction_read_only"), "off");
  fresh_source.Exec("INSERT INTO orders (v) VALUES ('the old source is the primary again')");
  fresh_source.Exec("INSERT INTO items (v) VALUES ('its identity sequence was set')");
  pg::Connection fresh_target = test::ConnectTarget(m.db);
  EXPECT_EQ(Text(fresh_target, "SHOW default_transaction_read_only"), "on");
  EXPECT_THROW(fresh_target.Exec("INSERT INTO orders (v) VALUES ('too late')"), Error);
  // Nothing left to stream; a rerun of the switch back has nothing to do.
  r = m.Run({"fallback"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("switch back is complete"), std::string::npos) << r.output;
  r = m.Run({"fallback", "--switch-back"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("completed by an earlier run"), std::string::npos) << r.output;
  test::ResetReadOnly(fresh_target, m.db);
}

// A switch back killed after each of its steps continues when rerun; --abort makes the target writable again and
// the fallback resumes.
TEST(Fallback, SwitchBackKilledAfterEachStepContinuesAndAbortLetsTheFallbackResume) {
  Migration m = Migration::SwitchedWithFallback("k");
  int round = 0;
  auto write = [&] {
    pg::Connection t = test::ConnectTarget(m.db);
    WriteOnTarget(t, ++round);
  };
  write();
  ASSERT_EQ(m.Run({"fallback", "--until-caught-up"}).exit_code, 0);
  write();
  for (const char* step : {"stopping_writes", "caught_up", "large_objects", "target_ready"}) {
    test::CliResult r =
        m.Run({"fallback", "--switch-back", "--writes-stopped"}, {std::string("WALFERRY_CUTOVER_KILL_AFTER=") + step});
    EXPECT_NE(r.exit_code, 0) << step << ": " << r.output;
    EXPECT_EQ(Text(test::ConnectSource(m.db), "SELECT step FROM walferry.cutover"), step);
    if (std::string(step) == "caught_up") {
      r = m.Run({"fallback", "--switch-back", "--abort"});
      ASSERT_EQ(r.exit_code, 0) << r.output;
      EXPECT_EQ(Text(test::ConnectTarget(m.db), "SHOW default_transaction_read_only"), "off");
      write();  // the application writes on the target again; the fallback carries it
      ASSERT_EQ(m.Run({"fallback", "--until-caught-up"}).exit_code, 0);
      m.ExpectTablesEqual("after --abort and the fallback");
    }
  }
  m.SwitchBackAndExpectEqual("");
}

// --end drops the reverse slot (twice: idempotent); without a prepared fallback, `walferry fallback` says how it is
// made. `walferry cleanup` right after cutover --fallback keeps the way back (it is live) and says so; the fallback
// still carries the target's writes; `cleanup --fallback` drops it.
TEST(Fallback, EndAndCleanupDropTheReverseSlot) {
  Migration m = Migration::SwitchedWithFallback("e");
  ASSERT_EQ(m.FallbackSlots(), 1);
  const std::string slot = m.FallbackSlot();
  test::CliResult r = m.Run({"fallback", "--end"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("dropped slot " + slot + " on the target"), std::string::npos) << r.output;
  EXPECT_EQ(m.FallbackSlots(), 0);
  r = m.Run({"fallback", "--end"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("nothing to drop"), std::string::npos) << r.output;
  r = m.Run({"fallback"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("no fallback is prepared"), std::string::npos) << r.output;
  {
    pg::Connection t = test::ConnectTarget(m.db);
    EXPECT_EQ(Count(t, "SELECT count(*) FROM pg_publication"), 0);
    EXPECT_EQ(Count(t, "SELECT count(*) FROM pg_trigger WHERE tgname = 'walferry_partition_truncate'"), 0);
  }
  // A fresh switch of another database with --fallback, then `walferry cleanup`: the forward slots go, the way
  // back stays.
  Migration other = Migration::SwitchedWithFallback("c");
  ASSERT_EQ(other.FallbackSlots(), 1);
  const std::string other_slot = other.FallbackSlot();
  r = other.Run({"cleanup"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(other.FallbackSlots(), 1) << "cleanup without --fallback keeps the way back: " << r.output;
  EXPECT_NE(r.output.find("kept slot " + other_slot + " on the target"), std::string::npos) << r.output;
  other.ExpectEqual("after cleanup");
  {
    pg::Connection t = test::ConnectTarget(other.db);
    WriteOnTarget(t, 1);
  }
  r = other.Run({"fallback", "--until-caught-up"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  other.ExpectTablesEqual("after cleanup and the fallback");
  r = other.Run({"cleanup", "--fallback"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("dropped slot " + other_slot + " on the target"), std::string::npos) << r.output;
  EXPECT_EQ(other.FallbackSlots(), 0);
  m.ExpectEqual("after --end");
}

// A cutover --fallback killed after fallback_ready, then --abort: the prepared fallback ends with the abort. The
// application writes on the source again and CDC carries it forward; a later cutover --fallback prepares a fresh
// way back, so walferry fallback carries only the target's own writes back (a reused slot would replay the forward
// CDC's writes onto the old source).
// Creating the reverse slot waits for every transaction with an id open on the target's cluster, without a limit:
// the downtime wedged there. The cutover now waits at most --timeout, names the transaction and stops (the source
// read-only, exit 1); once it ends, a rerun finishes with everything equal.
TEST(Fallback, AnOpenTransactionOnTheTargetStopsTheFallbackSlotWithinTheTimeoutNamingIt) {
  Migration m = Migration::Loaded("w");
  pg::Connection blocker = pg::Connection::Open(test::Target().Uri("postgres"), {.application_name = "long report"});
  blocker.Exec("BEGIN");
  const std::string pid = Text(blocker, "SELECT pg_backend_pid()::text");
  Text(blocker, "SELECT txid_current()::text");  // an id: slot creation would wait for it
  test::CliResult r = m.Run({"cutover", "--fallback", "--writes-stopped", "--timeout", "3"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("the fallback slot cannot be created"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("pid " + pid + " (database postgres, application 'long report'"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("READ-ONLY"), std::string::npos) << r.output;
  EXPECT_EQ(m.FallbackSlots(), 0);
  blocker.Exec("COMMIT");
  r = m.Run({"cutover", "--fallback", "--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(m.FallbackSlots(), 1);
  m.ExpectEqual("after the switch");
}

TEST(Fallback, AbortEndsThePreparedFallbackSoALaterCutoverPreparesAFreshOne) {
  Migration m = Migration::Loaded("a");
  test::CliResult r =
      m.Run({"cutover", "--fallback", "--writes-stopped"}, {"WALFERRY_CUTOVER_KILL_AFTER=fallback_ready"});
  ASSERT_NE(r.exit_code, 0) << r.output;
  ASSERT_EQ(m.FallbackSlots(), 1);
  // A walferry fallback started too early reads the slot: the abort refuses, changing nothing, and says why.
  const std::string log = "/tmp/walferry-" + m.db + "-fallback.log";
  pid_t fallback = test::SpawnWalferry({"-c", m.config, "fallback"}, false, log);
  ASSERT_TRUE(test::PollUntil([&] {
    pg::Connection t = test::ConnectTarget(m.db);
    return Count(t, "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'walferry_fallback%' AND "
                    "database = current_database() AND active") == 1;
  }));
  r = m.Run({"cutover", "--abort"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("stop walferry fallback"), std::string::npos) << r.output;
  EXPECT_EQ(Text(test::ConnectSource(m.db), "SHOW default_transaction_read_only"), "on") << "nothing changed";
  EXPECT_EQ(m.FallbackSlots(), 1);
  kill(fallback, SIGTERM);
  int status = 0;
  waitpid(fallback, &status, 0);
  r = m.Run({"cutover", "--abort"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(m.FallbackSlots(), 0) << "the aborted cutover's fallback is ended";
  {
    pg::Connection src = test::ConnectSource(m.db);
    EXPECT_EQ(Text(src, "SHOW default_transaction_read_only"), "off");
    src.Exec("INSERT INTO orders (v) SELECT 'after the abort ' || g FROM generate_series(1, 20) g");
    src.Exec("INSERT INTO \"Log Rows\" VALUES ('after the abort')");
  }
  r = m.Run({"cutover", "--fallback", "--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(m.FallbackSlots(), 1);
  m.ExpectEqual("after the second cutover");
  {
    pg::Connection t = test::ConnectTarget(m.db);
    WriteOnTarget(t, 1);
  }
  r = m.Run({"fallback", "--until-caught-up"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  m.ExpectTablesEqual("after the fallback");
  m.SwitchBackAndExpectEqual("the way back");
}

// A switch back killed after target_ready (the old source took writes again there), then --abort: the old source is
// read-only again before the target takes writes, never two writable primaries; the fallback resumes and a later
// switch back ends with both equal.
TEST(Fallback, SwitchBackAbortAfterTargetReadyLeavesTheOldSourceReadOnly) {
  Migration m = Migration::SwitchedWithFallback("r");
  {
    pg::Connection t = test::ConnectTarget(m.db);
    WriteOnTarget(t, 1);
  }
  ASSERT_EQ(m.Run({"fallback", "--until-caught-up"}).exit_code, 0);
  test::CliResult r =
      m.Run({"fallback", "--switch-back", "--writes-stopped"}, {"WALFERRY_CUTOVER_KILL_AFTER=target_ready"});
  ASSERT_NE(r.exit_code, 0) << r.output;
  EXPECT_EQ(Text(test::ConnectSource(m.db), "SHOW default_transaction_read_only"), "off") << "target_ready passed";
  r = m.Run({"fallback", "--switch-back", "--abort"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Text(test::ConnectSource(m.db), "SHOW default_transaction_read_only"), "on")
      << "the old source is read-only again";
  EXPECT_THROW(test::ConnectSource(m.db).Exec("INSERT INTO orders (v) VALUES ('split brain')"), Error);
  {
    pg::Connection t = test::ConnectTarget(m.db);
    EXPECT_EQ(Text(t, "SHOW default_transaction_read_only"), "off") << "the target is the primary";
    WriteOnTarget(t, 2);
  }
  r = m.Run({"fallback", "--until-caught-up"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  m.ExpectTablesEqual("after the abort and the fallback");
  m.SwitchBackAndExpectEqual("");
}

// cutover --fallback: from stopping_writes until the reverse slot exists the target takes no application writes (a
// write there would be in no slot, and a switch back would lose it); walferry's own sessions still write. --abort
// and the completed cutover leave it writable.
TEST(Fallback, TheTargetTakesNoApplicationWritesUntilTheFallbackSlotExists) {
  Migration m = Migration::Loaded("w");
  test::CliResult r = m.Run({"cutover", "--fallback", "--writes-stopped"}, {"WALFERRY_CUTOVER_KILL_AFTER=caught_up"});
  ASSERT_NE(r.exit_code, 0) << r.output;
  EXPECT_EQ(Text(test::ConnectTarget(m.db), "SHOW default_transaction_read_only"), "on");
  r = m.Run({"cutover", "--abort"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Text(test::ConnectTarget(m.db), "SHOW default_transaction_read_only"), "off") << "abort releases it";
  EXPECT_EQ(Text(test::ConnectSource(m.db), "SHOW default_transaction_read_only"), "off");

  r = m.Run({"cutover", "--fallback", "--writes-stopped"}, {"WALFERRY_CUTOVER_KILL_AFTER=target_ready"});
  ASSERT_NE(r.exit_code, 0) << r.output;
  {
    pg::Connection t = test::ConnectTarget(m.db);
    EXPECT_EQ(Text(t, "SHOW default_transaction_read_only"), "on");
    EXPECT_THROW(t.Exec("INSERT INTO orders (v) VALUES ('before the reverse slot')"), Error);
  }
  r = m.Run({"cutover", "--fallback", "--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  {
    pg::Connection t = test::ConnectTarget(m.db);
    EXPECT_EQ(Text(t, "SHOW default_transaction_read_only"), "off") << "writable once the slot exists";
    WriteOnTarget(t, 1);
  }
  r = m.Run({"fallback", "--until-caught-up"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  m.ExpectTablesEqual("after the fallback");
  m.SwitchBackAndExpectEqual("the way back");
}

// The cutover's large-object step touches only large objects this migration copied: one of another application on
// the target survives, and one colliding with a source OID is an error naming it, never overwritten. Once the
// operator removed it, the rerun continues and ends with the migration's large objects equal.
TEST(Fallback, LargeObjectStepTouchesOnlyTheMigrationsLargeObjects) {
  Migration m = Migration::Loaded("l");
  const std::string collide = "4000000001", foreign = "4000000002";
  {
    pg::Connection src = test::ConnectSource(m.db);
    src.Exec("SELECT lo_from_bytea(" + collide + ", 'from the source')");
    pg::Connection t = test::ConnectTarget(m.db);
    t.Exec("SELECT lo_from_bytea(" + collide + ", 'another application''s')");
    t.Exec("SELECT lo_from_bytea(" + foreign + ", 'another application''s too')");
  }
  const std::string content = "SELECT convert_from(lo_get($1::oid), 'UTF8')";
  test::CliResult r = m.Run({"cutover", "--writes-stopped"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("large object " + collide), std::string::npos) << r.output;
  {
    pg::Connection t = test::ConnectTarget(m.db);
    EXPECT_EQ(std::string(t.Exec(content, {pg::Param(collide)}).Get(0, 0)), "another application's");
    t.Exec("SELECT lo_unlink(" + collide + ")");  // the operator resolves it
  }
  r = m.Run({"cutover", "--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  {
    pg::Connection t = test::ConnectTarget(m.db);
    EXPECT_EQ(std::string(t.Exec(content, {pg::Param(foreign)}).Get(0, 0)), "another application's too");
    t.Exec("SELECT lo_unlink(" + foreign + ")");
  }
  m.ExpectEqual("after the cutover");
  pg::Connection s = test::ConnectSource(m.db);
  test::ResetReadOnly(s, m.db);
}

// Two sources (two databases of the source cluster, each with its own control schema; tables of both in public, and
// the second's in a schema of its own too) into one target database: each cutover --fallback has its own way back,
// neither's large-object step touches the other's large objects, each fallback carries its own tables back, and
// each switch back brings its old source exactly its own tables, sequences and large objects (the switch back set
// every sequence of the target's public schema on the old source, and failed on the other source's).
TEST(Fallback, TwoSourcesIntoOneTargetDatabaseEachHaveTheirWayBack) {
  const std::string db = test::FreshDatabase("t");
  const std::string other = test::FreshDatabase("o");
  test::Source().Psql(db, "CREATE TABLE mine (id bigserial PRIMARY KEY, v text, lo oid); "
                          "INSERT INTO mine (v, lo) SELECT 'a' || g, lo_from_bytea(0, 'a') FROM generate_series(1, 3) g");
  test::Source().Psql(other, "CREATE SCHEMA b; CREATE TABLE b.theirs (id bigserial PRIMARY KEY, v text, lo oid); "
                             "INSERT INTO b.theirs (v, lo) SELECT 'b' || g, lo_from_bytea(0, 'b') "
                             "FROM generate_series(1, 3) g; "
                             "CREATE TABLE also (id bigserial PRIMARY KEY, v text); "
                             "INSERT INTO also (v) SELECT 'also' || g FROM generate_series(1, 4) g");
  auto config = [&](const std::string& name, const std::string& source, const std::string& schema,
                    const std::string& table) {
    std::string path = "/tmp/walferry-" + db + "-" + name + ".yaml";
    std::ofstream y(path);
    y << "version: 1\nsource: \"" << test::Source().Uri(source) << "\"\ntarget: \"" << test::Target().Uri(db)
      << "\"\ncontrol:\n  schema: " << schema << "\nsets:\n  - name: " << name << "\n    tables:\n      - name: "
      << table << "\n";
    return path;
  };
  const std::string a = config("twoa", db, "walferry", "public.mine");
  const std::string b = config("twob", other, "walferry_b", "b.theirs\n      - name: public.also");
  for (const std::string& c : {a, b}) {
    test::CliResult r = test::RunWalferry({"-c", c, "load"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  for (const std::string& c : {a, b}) {
    test::CliResult r = test::RunWalferry({"-c", c, "cutover", "--fallback", "--writes-stopped"});
    ASSERT_EQ(r.exit_code, 0) << c << ": " << r.output;
  }
  pg::Connection sa = test::ConnectSource(db);
  pg::Connection sb = test::ConnectSource(other);
  const std::string los = "SELECT coalesce(string_agg(m.oid::text || ':' || md5(lo_get(m.oid)), ',' ORDER BY m.oid), "
                          "'') FROM pg_largeobject_metadata m";
  auto referenced = [&](const std::string& table) {
    return "SELECT coalesce(string_agg(lo::text || ':' || md5(lo_get(lo)), ',' ORDER BY lo), '') FROM " + table +
           " WHERE lo IS NOT NULL";
  };
  {
    pg::Connection t = test::ConnectTarget(db);
    EXPECT_EQ(Count(t, "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'walferry_fallback%' AND "
                       "database = current_database()"),
              2);
    EXPECT_EQ(Text(sa, los), Text(t, referenced("mine"))) << "the first source's large objects";
    EXPECT_EQ(Text(sb, los), Text(t, referenced("b.theirs"))) << "the second's survive the first's cutover";
    t.Exec("INSERT INTO mine (v) VALUES ('on the target')");
    t.Exec("UPDATE b.theirs SET v = v || ' changed'");
    t.Exec("SELECT lo_put(lo, 0, 'B') FROM b.theirs WHERE id = 1");
    t.Exec("INSERT INTO also (v) VALUES ('on the target')");
  }
  for (const std::string& c : {a, b}) {
    test::CliResult r = test::RunWalferry({"-c", c, "fallback", "--until-caught-up"});
    EXPECT_EQ(r.exit_code, 0) << c << ": " << r.output;
    r = test::RunWalferry({"-c", c, "fallback", "--switch-back", "--writes-stopped"});
    ASSERT_EQ(r.exit_code, 0) << c << ": " << r.output;
  }
  pg::Connection t = test::ConnectTarget(db);
  EXPECT_EQ(test::DiffTable(sa, t, "public.mine"), "");
  test::ExpectSameObjects(sa, t, {{"public.mine"}, {"mine_id_seq"}, false}, "the first source");
  test::ExpectSameObjects(sb, t, {{"b.theirs", "public.also"}, {"b.theirs_id_seq", "also_id_seq"}, false},
                          "the second source");
  EXPECT_EQ(Count(sa, "SELECT count(*) FROM pg_class WHERE relname = 'also_id_seq'"), 0)
      << "nothing of the other source's on this one";
  EXPECT_EQ(Text(sa, los), Text(t, referenced("mine"))) << "exactly its own large objects";
  EXPECT_EQ(Text(sb, los), Text(t, referenced("b.theirs"))) << "exactly its own large objects, the change too";
  test::ResetReadOnly(t, db);
}

}  // namespace
}  // namespace walferry
