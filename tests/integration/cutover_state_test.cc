// The cutover's state across commands (issue 18): the cutover row belongs to the set generation it switched
// (reset/restart/load archive it, a done row never turns a new cutover into a no-op); restart and reset refuse once
// writes were stopped (unless aborted); one advisory lock on the target serialises cutover, --abort, restart and
// reset; the rerun flags are remembered; slot and publication names are unique per migration. Each test ends with
// every table, sequence and large object compared source vs target, or with a refusal that names the cause.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>
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
    "CREATE TABLE docs (id int PRIMARY KEY, lo oid); "
    "INSERT INTO orders (v) SELECT 'o' || g FROM generate_series(1, 100) g; "
    "INSERT INTO items (v) SELECT 'i' || g FROM generate_series(1, 100) g; "
    "SELECT nextval('tickets'); "
    "INSERT INTO docs SELECT g, lo_from_bytea(0, convert_to(repeat('doc' || g, 100), 'UTF8')) "
    "FROM generate_series(1, 5) g";

const std::vector<std::string> kSequences = {"orders_id_seq", "items_id_seq", "tickets"};

void Write(pg::Connection& src, int round) {
  std::string r = std::to_string(round);
  src.Exec("INSERT INTO orders (v) SELECT 'w" + r + "-' || g FROM generate_series(1, 20) g");
  src.Exec("INSERT INTO items (v) SELECT 'w" + r + "-' || g FROM generate_series(1, 20) g");
  src.Exec("SELECT nextval('tickets') FROM generate_series(1, 7)");
  src.Exec("INSERT INTO docs VALUES (100 + " + r + ", lo_from_bytea(0, '\\x0001ff'::bytea || '" + r + "'::bytea))");
  src.Exec("SELECT lo_put(lo, 0, '\\x42'::bytea) FROM docs WHERE id = 1");
}

struct Migration {
  std::string db;         // the source database
  std::string target_db;  // the target database (the same name unless given)
  std::string config;
  std::string a, b;  // set names
  std::string extra_yaml;

  // Writes walferry.yaml: both sets, or only set a.
  void WriteConfig(bool with_b = true) const {
    std::ofstream y(config);
    y << "version: 1\nsource: \"" << test::Source().Uri(db) << "\"\ntarget: \"" << test::Target().Uri(target_db)
      << "\"\n" << extra_yaml << "sets:\n  - name: " << a
      << "\n    tables:\n      - name: public.orders\n      - name: public.items\n";
    if (with_b) y << "  - name: " << b << "\n    tables:\n      - name: public.docs\n";
  }

  // Not loaded yet. `prefix` names the sets (without a migration id, slot names are cluster-wide: each test has
  // its own). db_name: a source database made already (its schema too); target_db: another target database.
  static Migration Configured(const std::string& prefix, const std::string& extra_yaml = "",
                              const std::string& db_name = "", const std::string& target_db = "") {
    Migration m;
    m.a = prefix + "a";
    m.b = prefix + "b";
    m.db = db_name.empty() ? test::FreshDatabase() : db_name;
    m.target_db = target_db.empty() ? m.db : target_db;
    m.extra_yaml = extra_yaml;
    if (db_name.empty()) test::Source().Psql(m.db, kSchema);
    m.config = "/tmp/walferry-" + m.target_db + ".yaml";
    m.WriteConfig();
    return m;
  }

  static Migration Loaded(const std::string& prefix, const std::string& extra_yaml = "",
                          const std::string& db_name = "", const std::string& target_db = "") {
    Migration m = Configured(prefix, extra_yaml, db_name, target_db);
    test::CliResult r = test::RunWalferry({"-c", m.config, "load"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return m;
  }

  test::CliResult Run(std::vector<std::string> args, std::vector<std::string> env = {}) const {
    args.insert(args.begin(), {"-c", config});
    return test::RunWalferry(args, env);
  }

  void WriteOnSource(int round) const {
    pg::Connection src = test::ConnectSource(db);
    Write(src, round);
  }

  std::string Step() const { return Text(test::ConnectTarget(target_db), "SELECT step FROM walferry.cutover"); }
  bool SourceReadOnly() const {
    return Text(test::ConnectSource(db), "SHOW default_transaction_read_only") == "on";
  }

  // Every table, sequence and large object, source vs target.
  void ExpectEqual(const std::string& when) const {
    pg::Connection s = test::ConnectSource(db);
    pg::Connection t = test::ConnectTarget(target_db);
    test::ExpectSameObjects(s, t, {{"public.orders", "public.items", "public.docs"}, kSequences}, when);
  }

  void MakeWritable(const localcluster::LocalCluster& cluster) const {
    pg::Connection c = &cluster == &test::Source() ? test::ConnectSource(db) : test::ConnectTarget(target_db);
    test::ResetReadOnly(c, &cluster == &test::Source() ? db : target_db);
  }
};

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The slots of the sets of database `db` whose names start with `prefix`.
int64_t Slots(const std::string& db, const std::string& prefix = "walferry_") {
  pg::Connection s = test::ConnectSource("postgres");
  return Count(s, "SELECT count(*) FROM pg_replication_slots WHERE database = '" + db + "' AND slot_name LIKE '" +
                      prefix + "%'");
}

// Issue 18: after a switch back and walferry reset, the next walferry cutover printed "completed by an earlier
// run", exited 0, never stopped writes and set no sequence.
TEST(CutoverState, AfterASwitchBackAndResetTheNextCutoverStopsWritesAndSetsSequences) {
  Migration m = Migration::Loaded("gb");
  m.WriteOnSource(1);
  test::CliResult r = m.Run({"cutover", "--fallback", "--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = m.Run({"fallback", "--switch-back", "--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(m.SourceReadOnly()) << "switched back: the source is the primary again";
  // Starting over: the target takes walferry's load again (the switch back left it read-only for new sessions).
  m.MakeWritable(test::Target());
  r = m.Run({"reset", "--yes"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  m.WriteOnSource(2);
  ASSERT_EQ(m.Run({"cdc", "--until-caught-up"}).exit_code, 0);
  m.WriteOnSource(3);
  r = m.Run({"cutover", "--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(Contains(r.output, "completed by an earlier run")) << r.output;
  EXPECT_TRUE(Contains(r.output, "cutover complete")) << r.output;
  EXPECT_TRUE(m.SourceReadOnly()) << "the new cutover stopped writes";
  EXPECT_EQ(m.Step(), "done");
  pg::Connection t = test::ConnectTarget(m.db);
  EXPECT_EQ(Count(t, "SELECT count(*) FROM walferry.cutover_history WHERE row->>'step' = 'done'"), 1)
      << "the first generation's row is kept in the history";
  m.ExpectEqual("after the second cutover");
  // A plain rerun of the finished cutover still reports it as done.
  r = m.Run({"cutover", "--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Contains(r.output, "completed by an earlier run")) << r.output;
  m.MakeWritable(test::Source());
}

// Issue 18: restart/reset after a completed cutover dropped tables on the target, which is the new primary.
TEST(CutoverState, RestartAndResetRefuseOnceWritesStoppedUnlessAborted) {
  Migration m = Migration::Loaded("rr");
  m.WriteOnSource(1);
  // Aborted: restarting a set is allowed, and it archives the aborted row.
  test::CliResult r = m.Run({"cutover", "--writes-stopped"}, {"WALFERRY_CUTOVER_KILL_AFTER=stopping_writes"});
  ASSERT_NE(r.exit_code, 0) << r.output;
  ASSERT_EQ(m.Run({"cutover", "--abort"}).exit_code, 0);
  r = m.Run({"restart", "--set", m.b});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  m.WriteOnSource(2);
  ASSERT_EQ(m.Run({"cdc", "--until-caught-up"}).exit_code, 0);
  // Writes stopped (a cutover in progress): refused, nothing changed.
  r = m.Run({"cutover", "--writes-stopped"}, {"WALFERRY_CUTOVER_KILL_AFTER=writes_stopped"});
  ASSERT_NE(r.exit_code, 0) << r.output;
  pg::Connection src = test::ConnectSource(m.db);
  pg::Connection t = test::ConnectTarget(m.db);
  const int64_t rows = Count(t, "SELECT count(*) FROM orders");
  const std::string slots_sql = "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'walferry_rr%'";
  for (std::vector<std::string> cmd : {std::vector<std::string>{"restart", "--set", m.a},
                                       std::vector<std::string>{"reset", "--yes"}}) {
    r = m.Run(cmd);
    EXPECT_EQ(r.exit_code, 2) << cmd[0] << "\n" << r.output;
    EXPECT_TRUE(Contains(r.output, "cutover is in progress")) << r.output;
    EXPECT_TRUE(Contains(r.output, "walferry cutover --abort")) << r.output;
    EXPECT_EQ(Count(src, slots_sql), 2) << cmd[0] << ": nothing changed";
    EXPECT_EQ(Count(t, "SELECT count(*) FROM orders"), rows) << cmd[0] << ": nothing changed";
    EXPECT_EQ(m.Step(), "writes_stopped");
  }
  // Done: the target is the new primary.
  r = m.Run({"cutover", "--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  t.Exec("INSERT INTO orders (id, v) VALUES (1000000, 'the application on the new primary')");
  for (std::vector<std::string> cmd : {std::vector<std::string>{"restart", "--set", m.a},
                                       std::vector<std::string>{"reset", "--yes"}}) {
    r = m.Run(cmd);
    EXPECT_EQ(r.exit_code, 2) << cmd[0] << "\n" << r.output;
    EXPECT_TRUE(Contains(r.output, "the target is the new primary")) << r.output;
    EXPECT_EQ(Count(t, "SELECT count(*) FROM orders WHERE v = 'the application on the new primary'"), 1);
  }
  t.Exec("DELETE FROM orders WHERE v = 'the application on the new primary'");
  m.ExpectEqual("after the refused restart and reset");
  m.MakeWritable(test::Source());
}

// Issue 18: nothing serialised cutover and cutover --abort: an abort racing a running cutover let the cutover
// finish on a writable source. The cutover is held open after writes_stopped (WALFERRY_CUTOVER_HOLD_AFTER) while
// --abort, restart and reset are tried.
TEST(CutoverState, AnAbortWhileACutoverRunsIsRefusedAndTheCutoverFinishesOnAReadOnlySource) {
  Migration m = Migration::Loaded("lk");
  m.WriteOnSource(1);
  const std::string hold = "/tmp/walferry-" + m.db + ".hold";
  { std::ofstream(hold) << "held\n"; }
  const std::string log = "/tmp/walferry-" + m.db + "-cutover.log";
  setenv("WALFERRY_CUTOVER_HOLD_AFTER", "writes_stopped", 1);
  setenv("WALFERRY_CUTOVER_HOLD_FILE", hold.c_str(), 1);
  pid_t cutover = test::SpawnWalferry({"-c", m.config, "cutover", "--writes-stopped"}, false, log);
  unsetenv("WALFERRY_CUTOVER_HOLD_AFTER");
  unsetenv("WALFERRY_CUTOVER_HOLD_FILE");
  ASSERT_TRUE(test::PollUntil([&] {
    pg::Connection t = test::ConnectTarget(m.db);
    return Count(t, "SELECT count(*) FROM walferry.cutover WHERE step = 'writes_stopped'") == 1;
  })) << test::ReadWholeFile(log);
  for (std::vector<std::string> cmd : {std::vector<std::string>{"cutover", "--abort"},
                                       std::vector<std::string>{"restart", "--set", m.a},
                                       std::vector<std::string>{"reset", "--yes"},
                                       std::vector<std::string>{"cutover", "--writes-stopped"}}) {
    test::CliResult r = m.Run(cmd);
    EXPECT_EQ(r.exit_code, 2) << cmd[0] << "\n" << r.output;
    EXPECT_TRUE(Contains(r.output, "another walferry command holds the migration's lock")) << r.output;
    EXPECT_TRUE(Contains(r.output, "application 'walferry cutover'")) << r.output;
    EXPECT_TRUE(m.SourceReadOnly()) << cmd[0] << ": the source stays read-only under the running cutover";
  }
  unlink(hold.c_str());
  int status = -1;
  ASSERT_TRUE(test::PollUntil([&] { return waitpid(cutover, &status, WNOHANG) == cutover; }))
      << test::ReadWholeFile(log);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << test::ReadWholeFile(log);
  EXPECT_EQ(m.Step(), "done");
  EXPECT_TRUE(m.SourceReadOnly());
  m.ExpectEqual("after the held cutover");
  m.MakeWritable(test::Source());
}

// Issue 18: rerun flags (--fallback, --keep-slots) were not remembered and the downtime started again at each
// rerun. A cutover begun with --keep-slots --fallback is killed twice; reruns without the flags continue with them,
// a rerun adding a flag the first run did not have is refused, and the downtime counts from the first stop.
TEST(CutoverState, ARerunContinuesWithTheFirstRunsFlagsAndItsDowntime) {
  Migration m = Migration::Loaded("rf");
  m.WriteOnSource(1);
  test::CliResult r = m.Run({"cutover", "--writes-stopped", "--keep-slots", "--fallback"},
                            {"WALFERRY_CUTOVER_KILL_AFTER=stopping_writes"});
  ASSERT_NE(r.exit_code, 0) << r.output;
  pg::Connection t = test::ConnectTarget(m.db);
  const std::string stopped_at = Text(t, "SELECT writes_stopped_at::text FROM walferry.cutover");
  r = m.Run({"cutover", "--writes-stopped"}, {"WALFERRY_CUTOVER_KILL_AFTER=caught_up"});
  ASSERT_NE(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Contains(r.output, "continuing with --fallback")) << r.output;
  EXPECT_TRUE(Contains(r.output, "continuing with --keep-slots")) << r.output;
  EXPECT_EQ(Text(t, "SELECT writes_stopped_at::text FROM walferry.cutover"), stopped_at)
      << "the downtime goes on from the first stop";
  r = m.Run({"cutover", "--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Contains(r.output, "start walferry fallback now")) << "--fallback was carried out\n" << r.output;
  EXPECT_EQ(Slots(m.db, "walferry_rf"), 2) << "--keep-slots was carried out";
  EXPECT_EQ(Text(t, "SELECT writes_stopped_at::text FROM walferry.cutover"), stopped_at);
  m.ExpectEqual("after the reruns");
  ASSERT_EQ(m.Run({"fallback", "--end"}).exit_code, 0);
  ASSERT_EQ(m.Run({"cleanup"}).exit_code, 0);
  m.MakeWritable(test::Source());

  // A rerun that adds a flag the first run did not have is refused, naming it.
  Migration n = Migration::Loaded("rg");
  n.WriteOnSource(1);
  r = n.Run({"cutover", "--writes-stopped"}, {"WALFERRY_CUTOVER_KILL_AFTER=caught_up"});
  ASSERT_NE(r.exit_code, 0) << r.output;
  r = n.Run({"cutover", "--writes-stopped", "--keep-slots"});
  // Exit 1, not 2: writes stopped already (exit 2 only means "nothing was changed"); the message says READ-ONLY.
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(Contains(r.output, "READ-ONLY")) << r.output;
  EXPECT_TRUE(Contains(r.output, "--keep-slots: the walferry cutover that stopped writes")) << r.output;
  EXPECT_EQ(n.Step(), "caught_up");
  r = n.Run({"cutover", "--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Slots(n.db, "walferry_rg"), 0);
  n.ExpectEqual("the refused rerun's migration");
  n.MakeWritable(test::Source());
}

// Issue 18: abort needed the target to be reachable. With the target unreachable, --abort makes the source
// writable (and says the target was not told); the next cutover finds the source writable, records the abort and
// starts over from the preflight.
TEST(CutoverState, AbortWithTheTargetDownMakesTheSourceWritableAndTheNextCutoverStartsOver) {
  Migration m = Migration::Loaded("td");
  m.WriteOnSource(1);
  test::CliResult r = m.Run({"cutover", "--writes-stopped"}, {"WALFERRY_CUTOVER_KILL_AFTER=writes_stopped"});
  ASSERT_NE(r.exit_code, 0) << r.output;
  ASSERT_TRUE(m.SourceReadOnly());
  // The same migration, its target unreachable (nothing listens on port 1).
  const std::string down = "/tmp/walferry-" + m.db + "-target-down.yaml";
  std::ofstream(down) << "version: 1\nsource: \"" << test::Source().Uri(m.db)
                      << "\"\ntarget: \"postgresql://127.0.0.1:1/" << m.db << "?connect_timeout=5\"\nsets:\n  - name: "
                      << m.a << "\n    tables:\n      - name: public.orders\n      - name: public.items\n"
                      << "  - name: " << m.b << "\n    tables:\n      - name: public.docs\n";
  r = test::RunWalferry({"-c", down, "cutover", "--abort"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Contains(r.output, "unreachable")) << r.output;
  EXPECT_FALSE(m.SourceReadOnly()) << "the source takes writes again";
  EXPECT_EQ(m.Step(), "writes_stopped") << "the target could not be told";
  pg::Connection src = test::ConnectSource(m.db);
  src.Exec("INSERT INTO orders (v) VALUES ('written after the abort')");
  r = m.Run({"cutover", "--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Contains(r.output, "while the target was unreachable")) << r.output;
  EXPECT_TRUE(m.SourceReadOnly());
  m.ExpectEqual("after the cutover that followed the abort");
  pg::Connection t = test::ConnectTarget(m.db);
  EXPECT_EQ(Count(t, "SELECT count(*) FROM orders WHERE v = 'written after the abort'"), 1);
  // Done, the slots dropped: with the target unreachable, --abort cannot tell and refuses to make a second primary.
  r = test::RunWalferry({"-c", down, "cutover", "--abort"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(Contains(r.output, "the switch may be complete")) << r.output;
  EXPECT_TRUE(m.SourceReadOnly());
  m.MakeWritable(test::Source());
}

// Issue 18: slot names were cluster-wide (walferry_<set>): migrating a second database of one source cluster
// collided with the first one's slots, and load's hint told the user to drop them, destroying the other migration.
// Two databases of one cluster, the same set names, migrated at the same time into two target databases; one
// cutover killed with its slots still there while the other finishes; both end equal.
TEST(CutoverState, TwoDatabasesOfOneClusterMigrateAtOnceWithTheirOwnSlots) {
  // Without a migration id the names are the old ones: the second database is refused, and never told to drop
  // the first one's slot.
  Migration legacy = Migration::Loaded("lg");
  Migration clash = Migration::Configured("lg");
  test::CliResult r = clash.Run({"load"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(Contains(r.output, "of database " + legacy.db)) << r.output;
  EXPECT_TRUE(Contains(r.output, "migration_id")) << r.output;
  EXPECT_FALSE(Contains(r.output, "pg_drop_replication_slot")) << r.output;
  EXPECT_EQ(Slots(legacy.db, "walferry_lg"), 2) << "the first migration keeps its slots";
  ASSERT_EQ(legacy.Run({"cleanup"}).exit_code, 0);

  Migration one = Migration::Loaded("tw", "migration_id: one\n");
  Migration two = Migration::Loaded("tw", "migration_id: two\n");
  ASSERT_EQ(Slots(one.db), 2);
  ASSERT_EQ(Slots(two.db), 2);
  one.WriteOnSource(1);
  two.WriteOnSource(1);
  ASSERT_EQ(one.Run({"cdc", "--until-caught-up"}).exit_code, 0);
  ASSERT_EQ(two.Run({"cdc", "--until-caught-up"}).exit_code, 0);
  one.WriteOnSource(2);
  two.WriteOnSource(2);
  // One cutover fails after the catch-up: its slots stay, its source read-only.
  r = one.Run({"cutover", "--writes-stopped"}, {"WALFERRY_CUTOVER_KILL_AFTER=caught_up"});
  ASSERT_NE(r.exit_code, 0) << r.output;
  r = two.Run({"cutover", "--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Slots(two.db), 0) << "the finished cutover dropped its own slots";
  EXPECT_EQ(Slots(one.db), 2) << "and not the other migration's";
  r = one.Run({"cutover", "--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Slots(one.db), 0);
  one.ExpectEqual("the first database");
  two.ExpectEqual("the second database");
  one.MakeWritable(test::Source());
  two.MakeWritable(test::Source());
}

// Issue 18: cleanup --orphans dropped every walferry_* slot of the source database, also another migration's of
// the same database (into another target). One source database into two target databases: the first migration is
// abandoned (a set removed from its walferry.yaml, then cleanup --orphans: its own slots go, the other's stay), and
// started over with reset; both migrations then cut over and end equal.
TEST(CutoverState, OrphansCleanupOfOneMigrationLeavesTheOtherMigrationsSlots) {
  Migration one = Migration::Loaded("or", "migration_id: first\n");
  const std::string second_target = one.db + "_b";
  test::Target().CreateDatabase(second_target);
  Migration two = Migration::Loaded("or", "migration_id: second\n", one.db, second_target);
  ASSERT_EQ(Slots(one.db), 4) << "two migrations of one database, two slots each";
  one.WriteOnSource(1);
  // The first migration drops set b from its configuration: its slot and publication are orphans now.
  one.WriteConfig(/*with_b=*/false);
  test::CliResult r = one.Run({"cleanup", "--set", one.a});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Contains(r.output, "(no configured set owns it; --orphans drops it)")) << r.output;
  EXPECT_EQ(Slots(one.db), 3) << r.output;
  r = one.Run({"cleanup", "--orphans"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Slots(one.db), 2) << "the other migration's slots are left\n" << r.output;
  EXPECT_TRUE(Contains(r.output, "left slot")) << "and named as left alone\n" << r.output;
  ASSERT_EQ(two.Run({"cdc", "--until-caught-up"}).exit_code, 0);
  // The first migration starts over with set a only.
  r = one.Run({"reset", "--yes"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Slots(one.db), 3);
  one.WriteOnSource(2);
  r = two.Run({"cutover", "--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Slots(one.db), 1) << "the second cutover dropped its own two slots";
  r = one.Run({"cutover", "--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Slots(one.db), 0);
  two.ExpectEqual("the second target");
  // The first target carries set a (orders, items) and the sequences and large objects the cutover sets.
  pg::Connection s = test::ConnectSource(one.db);
  pg::Connection t1 = test::ConnectTarget(one.target_db);
  test::ExpectSameObjects(s, t1, {{"public.orders", "public.items"}, kSequences}, "the first target");
  one.MakeWritable(test::Source());
}

}  // namespace
}  // namespace walferry
