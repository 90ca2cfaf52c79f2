// walferry restart --set NAME and walferry reset --yes: one set (or every set) loaded again from a new snapshot
// while another set keeps streaming under a writer; refused while the set's slot is read, when a table outside
// the set references it by foreign key, and when its tables reference another set's. Each test ends with every table equal, source vs target.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/clusters.h"

namespace walferry {
namespace {

using test::Count;

std::string Config(const std::string& db, const std::vector<std::pair<std::string, std::string>>& sets) {
  std::string path = "/tmp/walferry-" + db + ".yaml";
  std::ofstream y(path);
  y << "version: 1\nsource: \"" << test::Source().Uri(db) << "\"\ntarget: \"" << test::Target().Uri(db)
    << "\"\nsets:\n";
  for (const auto& [name, tables] : sets) y << "  - name: " << name << "\n    tables:\n" << tables;
  return path;
}

bool SlotActive(pg::Connection& src, const std::string& slot) {
  return Count(src, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + slot + "' AND active") == 1;
}

void Stop(pid_t pid) {
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
}

TEST(Restart, OneSetIsLoadedAgainWhileAnotherStreamsUnderAWriter) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, "CREATE TABLE t1 (id bigserial PRIMARY KEY, v text); "
                          "CREATE TABLE t2 (id bigserial PRIMARY KEY, v text); "
                          "INSERT INTO t1 (v) SELECT 'a' || g FROM generate_series(1, 2000) g; "
                          "INSERT INTO t2 (v) SELECT 'b' || g FROM generate_series(1, 2000) g");
  std::string config =
      Config(db, {{"ra", "      - name: public.t1\n"}, {"rb", "      - name: public.t2\n"}});
  ASSERT_EQ(test::RunWalferry({"-c", config, "load"}).exit_code, 0);
  pg::Connection src = test::ConnectSource(db);
  pg::Connection t = test::ConnectTarget(db);
  // Set ra's copy went wrong on the target (as if a bad apply had been let through).
  t.Exec("DELETE FROM t1 WHERE id % 3 = 0; UPDATE t1 SET v = 'wrong' WHERE id % 5 = 0");

  std::atomic<bool> stop{false};
  std::thread writer([&] {
    pg::Connection w = test::ConnectSource(db);
    for (int i = 0; !stop; ++i) {
      w.Exec("INSERT INTO t1 (v) VALUES ('live'); INSERT INTO t2 (v) VALUES ('live'); "
             "UPDATE t2 SET v = 'changed' WHERE id = " + std::to_string(1 + i % 2000));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  pid_t rb = test::SpawnWalferry({"-c", config, "cdc", "--set", "rb"});
  pid_t ra = test::SpawnWalferry({"-c", config, "cdc", "--set", "ra"});
  ASSERT_TRUE(test::PollUntil([&] { return SlotActive(src, "walferry_ra") && SlotActive(src, "walferry_rb"); }));
  // While ra is read: refused, nothing changed.
  test::CliResult r = test::RunWalferry({"-c", config, "restart", "--set", "ra"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("walferry_ra by process"), std::string::npos) << r.output;
  EXPECT_TRUE(SlotActive(src, "walferry_ra"));
  Stop(ra);
  std::string old_start = std::string(t.Exec("SELECT start_lsn::text FROM walferry.sets WHERE set_name = 'ra'").Get(0, 0));
  r = test::RunWalferry({"-c", config, "restart", "--set", "ra"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("set ra: loaded"), std::string::npos) << r.output;
  EXPECT_TRUE(SlotActive(src, "walferry_rb")) << "set rb kept streaming";
  std::string new_start = std::string(t.Exec("SELECT start_lsn::text FROM walferry.sets WHERE set_name = 'ra'").Get(0, 0));
  EXPECT_NE(new_start, old_start);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop = true;
  writer.join();
  Stop(rb);
  r = test::RunWalferry({"-c", config, "cdc", "--until-caught-up"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(test::DiffTable(src, t, "public.t1"), "");
  EXPECT_EQ(test::DiffTable(src, t, "public.t2"), "");
  EXPECT_EQ(test::RunWalferry({"-c", config, "cleanup"}).exit_code, 0);
}

TEST(Restart, RefusedWhenAnotherSetReferencesItAndResetLoadsEverySet) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, "CREATE TABLE parent (id int PRIMARY KEY); "
                          "CREATE TABLE kid (id int PRIMARY KEY, parent_id int REFERENCES parent); "
                          "INSERT INTO parent SELECT generate_series(1, 100); "
                          "INSERT INTO kid SELECT g, g FROM generate_series(1, 100) g");
  std::string config =
      Config(db, {{"fa", "      - name: public.parent\n"}, {"fb", "      - name: public.kid\n"}});
  ASSERT_EQ(test::RunWalferry({"-c", config, "load"}).exit_code, 0);
  pg::Connection src = test::ConnectSource(db);
  pg::Connection t = test::ConnectTarget(db);
  test::CliResult r = test::RunWalferry({"-c", config, "restart", "--set", "fa"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("kid (kid_parent_id_fkey) references parent"), std::string::npos) << r.output;
  EXPECT_EQ(Count(src, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'walferry_fa'"), 1)
      << "nothing changed";
  // Nor the referencing set alone: its new snapshot holds a kid whose parent set fa has not applied (its CDC is not
  // running), so the foreign key could not be created after the copy (matrix seed 828 found it).
  src.Exec("INSERT INTO parent VALUES (100100); INSERT INTO kid VALUES (100100, 100100)");
  r = test::RunWalferry({"-c", config, "restart", "--set", "fb"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("kid (kid_parent_id_fkey) references parent"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("nothing was changed"), std::string::npos) << r.output;
  EXPECT_EQ(Count(src, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'walferry_fb'"), 1)
      << "nothing changed";
  r = test::RunWalferry({"-c", config, "reset"});
  EXPECT_EQ(r.exit_code, 2) << "reset needs --yes\n" << r.output;
  src.Exec("INSERT INTO parent VALUES (101); INSERT INTO kid VALUES (101, 101)");
  t.Exec("DELETE FROM kid WHERE id = 5");
  r = test::RunWalferry({"-c", config, "reset", "--yes"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  src.Exec("INSERT INTO parent VALUES (102); INSERT INTO kid VALUES (102, 102)");
  r = test::RunWalferry({"-c", config, "cdc", "--until-caught-up"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(test::DiffTable(src, t, "public.parent"), "");
  EXPECT_EQ(test::DiffTable(src, t, "public.kid"), "");
  EXPECT_EQ(test::RunWalferry({"-c", config, "cleanup"}).exit_code, 0);
}

}  // namespace
}  // namespace walferry
