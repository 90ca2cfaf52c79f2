// walferry cutover --fallback, walferry fallback, --switch-back, --end: after the switch the application writes on
// the target (rows, a keyless table, a partition truncated, the three kinds of sequence, large objects created,
// changed, unlinked and given to another owner) while `walferry fallback` carries them back to the old source and
// is killed with SIGKILL on the way; the switch back then makes the old source the primary again. Each test ends
// with every table, sequence and large object compared, old source vs target, nothing duplicated.
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
    r = m.Run({"cutover", "--fallback", "--writes-stopped"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("start walferry fallback now"), std::string::npos) << r.output;
    return m;
  }

  test::CliResult Run(std::vector<std::string> args, std::vector<std::string> env = {}) const {
    args.insert(args.begin(), {"-c", config});
    return test::RunWalferry(args, env);
  }

  std::string FallbackSlot() const { return "walferry_" + lifecycle::FallbackSetName(db); }

  int64_t FallbackSlots() const {
    pg::Connection t = test::ConnectTarget(db);
    return Count(t, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + FallbackSlot() + "'");
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
    for (const char* seq : {"orders_id_seq", "items_id_seq", "tickets"}) {
      std::string q = std::string("SELECT last_value || '/' || is_called FROM ") + seq;
      EXPECT_EQ(Text(s, q), Text(t, q)) << when << ": " << seq;
    }
    const std::string los = "SELECT coalesce(string_agg(m.oid::text || ':' || md5(lo_get(m.oid)) || ':' || "
                            "m.lomowner::regrole::text, ',' ORDER BY m.oid), '') FROM pg_largeobject_metadata m";
    EXPECT_EQ(Text(s, los), Text(t, los)) << when;
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
  const std::string line = "fallback (target -> old source) " + lifecycle::FallbackSetName(m.db) + ": ";
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
  fresh_target.Exec("SET default_transaction_read_only = off");
  fresh_target.Exec("ALTER DATABASE " + pg::QuoteIdent(m.db) + " RESET default_transaction_read_only");
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
  test::CliResult r = m.Run({"fallback", "--switch-back", "--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  m.ExpectEqual("after the switch back");
  EXPECT_EQ(Text(test::ConnectSource(m.db), "SHOW default_transaction_read_only"), "off");
  pg::Connection t = test::ConnectTarget(m.db);
  t.Exec("SET default_transaction_read_only = off");
  t.Exec("ALTER DATABASE " + pg::QuoteIdent(m.db) + " RESET default_transaction_read_only");
}

// --end drops the reverse slot (twice: idempotent); without a prepared fallback, `walferry fallback` says how it is
// made; cleanup drops a fallback's slot on the target too.
TEST(Fallback, EndAndCleanupDropTheReverseSlot) {
  Migration m = Migration::SwitchedWithFallback("e");
  ASSERT_EQ(m.FallbackSlots(), 1);
  test::CliResult r = m.Run({"fallback", "--end"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("dropped slot " + m.FallbackSlot() + " on the target"), std::string::npos) << r.output;
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
  // A fresh switch of another database with --fallback, then `walferry cleanup`: the reverse slot goes too.
  Migration other = Migration::SwitchedWithFallback("c");
  ASSERT_EQ(other.FallbackSlots(), 1);
  r = other.Run({"cleanup"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("dropped slot " + other.FallbackSlot() + " on the target"), std::string::npos) << r.output;
  EXPECT_EQ(other.FallbackSlots(), 0);
  m.ExpectEqual("after --end");
  other.ExpectEqual("after cleanup");
}

}  // namespace
}  // namespace walferry
