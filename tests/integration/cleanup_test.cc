// walferry cleanup: drops the configured sets' slots, publications and partition TRUNCATE triggers on the source;
// refuses while a slot is read (nothing dropped), --force ends the reader; idempotent; --orphans drops what no
// configured set owns; --control-schema drops the control schema on the target. Every test ends with the tables
// equal on both sides (cleanup never touches data).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <string>
#include <vector>

#include "pg/replication_stream.h"
#include "support/clusters.h"

namespace walferry {
namespace {

using test::Count;

std::string Names(pg::Connection& c, const std::string& sql) {
  pg::Result r = c.Exec("SELECT coalesce(string_agg(x, ',' ORDER BY x), '') FROM (" + sql + ") AS q(x)");
  return std::string(r.Get(0, 0));
}

const char* kSlots = "SELECT slot_name::text FROM pg_replication_slots WHERE slot_name LIKE 'walferry%'";
const char* kPublications = "SELECT pubname::text FROM pg_publication";
const char* kTriggers = "SELECT tgname || ' on ' || tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal";

TEST(Cleanup, DropsTheSetsObjectsRefusesWhileReadIsIdempotentAndDropsOrphansOnRequest) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, "CREATE TABLE a1 (id int PRIMARY KEY, v text); "
                          "CREATE TABLE b1 (id int PRIMARY KEY, v text) PARTITION BY RANGE (id); "
                          "CREATE TABLE b1_low PARTITION OF b1 FOR VALUES FROM (0) TO (100); "
                          "CREATE TABLE b1_high PARTITION OF b1 FOR VALUES FROM (100) TO (200); "
                          "INSERT INTO a1 SELECT g, 'a' || g FROM generate_series(1, 50) g; "
                          "INSERT INTO b1 SELECT g, 'b' || g FROM generate_series(0, 199) g");
  std::string config = "/tmp/walferry-" + db + ".yaml";
  {
    std::ofstream y(config);
    y << "version: 1\nsource: \"" << test::Source().Uri(db) << "\"\ntarget: \"" << test::Target().Uri(db)
      << "\"\nsets:\n  - name: a\n    tables:\n      - name: public.a1\n"
      << "  - name: b\n    tables:\n      - name: public.b1\n";
  }
  test::CliResult r = test::RunWalferry({"-c", config, "load"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  pg::Connection src = test::ConnectSource(db);
  pg::Connection t = test::ConnectTarget(db);
  ASSERT_EQ(Names(src, kSlots), "walferry_a,walferry_b");
  ASSERT_EQ(Names(src, kTriggers),
            "walferry_partition_truncate on b1_high,walferry_partition_truncate on b1_low");

  // While set a streams: refused, naming the slot, and nothing is dropped.
  pid_t cdc = test::SpawnWalferry({"-c", config, "cdc", "--set", "a"});
  ASSERT_TRUE(test::PollUntil([&] {
    return Count(src, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'walferry_a' AND active") == 1;
  }));
  r = test::RunWalferry({"-c", config, "cleanup"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("walferry_a by process"), std::string::npos) << r.output;
  EXPECT_EQ(Names(src, kSlots), "walferry_a,walferry_b");
  EXPECT_EQ(Names(src, kPublications), "walferry_a,walferry_b");
  src.Exec("INSERT INTO a1 VALUES (51, 'late'); UPDATE b1 SET v = 'late' WHERE id = 5");
  kill(cdc, SIGTERM);
  int status = 0;
  waitpid(cdc, &status, 0);
  r = test::RunWalferry({"-c", config, "cdc", "--until-caught-up"});
  ASSERT_EQ(r.exit_code, 0) << r.output;

  // A removed set's leftovers (set "old", whose load recorded its names in the control schema): not dropped
  // without --orphans, only reported. A walferry_* slot this migration never recorded (another migration's of this
  // database, into another target) is never dropped, not even with --orphans (issue 18).
  src.Exec("SELECT pg_create_logical_replication_slot('walferry_old', 'pgoutput')");
  src.Exec("CREATE PUBLICATION walferry_old FOR TABLE a1");
  t.Exec("INSERT INTO walferry.source_objects (kind, name) VALUES ('slot', 'walferry_old'), "
         "('publication', 'walferry_old')");
  src.Exec("SELECT pg_create_logical_replication_slot('walferry_foreign', 'pgoutput')");
  r = test::RunWalferry({"-c", config, "cleanup"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* d : {"dropped slot walferry_a", "dropped slot walferry_b", "dropped publication walferry_a",
                        "dropped publication walferry_b", "dropped trigger walferry_partition_truncate on public.b1_low",
                        "kept slot walferry_old", "kept publication walferry_old", "left slot walferry_foreign"}) {
    EXPECT_NE(r.output.find(d), std::string::npos) << d << " in\n" << r.output;
  }
  // Each dropped object is said once (it was printed on stdout and logged on stderr too).
  std::string once = "dropped slot walferry_a";
  EXPECT_EQ(r.output.find(once), r.output.rfind(once)) << r.output;
  EXPECT_EQ(Names(src, kSlots), "walferry_foreign,walferry_old");
  EXPECT_EQ(Names(src, kPublications), "walferry_old");
  EXPECT_EQ(Names(src, kTriggers), "");
  EXPECT_EQ(Count(src, "SELECT count(*) FROM pg_proc WHERE proname = 'partition_truncated'"), 1)
      << "kept while a walferry publication is left";

  // Again: nothing left to drop, still a success.
  r = test::RunWalferry({"-c", config, "cleanup", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"dropped\": []"), std::string::npos) << r.output;

  // The orphan slot is read by someone: --orphans refuses, --orphans --force ends the reader and drops it all.
  auto reader = pg::ReplicationConnection::Open(test::Source().Uri(db));
  reader.StartLogical("walferry_old", Lsn{}, {{"proto_version", "1"}, {"publication_names", "walferry_old"}});
  ASSERT_TRUE(test::PollUntil([&] {
    return Count(src, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'walferry_old' AND active") == 1;
  }));
  r = test::RunWalferry({"-c", config, "cleanup", "--orphans"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_EQ(Names(src, kSlots), "walferry_foreign,walferry_old");
  r = test::RunWalferry({"-c", config, "cleanup", "--orphans", "--force", "--control-schema"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Names(src, kSlots), "walferry_foreign") << "never another migration's slot\n" << r.output;
  src.Exec("SELECT pg_drop_replication_slot('walferry_foreign')");
  EXPECT_EQ(Names(src, kPublications), "");
  EXPECT_EQ(Count(src, "SELECT count(*) FROM pg_proc WHERE proname = 'partition_truncated'"), 0);
  EXPECT_EQ(Count(src, "SELECT count(*) FROM pg_namespace WHERE nspname = 'walferry'"), 0);
  EXPECT_EQ(Count(t, "SELECT count(*) FROM pg_namespace WHERE nspname = 'walferry'"), 0);

  for (const char* table : {"public.a1", "public.b1"}) EXPECT_EQ(test::DiffTable(src, t, table), "") << table;
}

}  // namespace
}  // namespace walferry
