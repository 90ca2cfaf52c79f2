// `walferry plan` against real clusters: tables written at different rates balanced into sets, apply modes and LOB
// settings in walferry.yaml, DMS mapping export/import round trip, pglogical sets, and bad input (exit 2, no file).
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "localcluster/local_cluster.h"
#include "support/clusters.h"

namespace walferry {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path TempDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::temp_directory_path() / ("walferry-plan-" + std::string(info->name()) + "-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

json ParseJson(const std::string& output) {
  auto start = output.find('{');
  if (start == std::string::npos) throw std::runtime_error("no JSON in output:\n" + output);
  return json::parse(output.substr(start));
}

std::map<std::string, std::string> SetOf(const config::Config& c) {
  std::map<std::string, std::string> out;
  for (const auto& s : c.sets) {
    for (const auto& t : s.tables) out[t.name.Display()] = s.name;
  }
  return out;
}

const config::TableConfig* FindTable(const config::Config& c, const std::string& display) {
  for (const auto& s : c.sets) {
    for (const auto& t : s.tables) {
      if (t.name.Display() == display) return &t;
    }
  }
  return nullptr;
}

// Four tables updated at rates 4:3:2:1 (rows per loop), a PK+unique table, a LOB table and mixed-case names.
constexpr const char* kFixture = R"sql(
  CREATE TABLE w4 (id int PRIMARY KEY, v int); INSERT INTO w4 SELECT g, 0 FROM generate_series(1, 40) g;
  CREATE TABLE w3 (id int PRIMARY KEY, v int); INSERT INTO w3 SELECT g, 0 FROM generate_series(1, 30) g;
  CREATE TABLE w2 (id int PRIMARY KEY, v int, code text UNIQUE); INSERT INTO w2 SELECT g, 0, g::text FROM generate_series(1, 20) g;
  CREATE TABLE "Mixed"."W1" (id int PRIMARY KEY, v int); INSERT INTO "Mixed"."W1" SELECT g, 0 FROM generate_series(1, 10) g;
  CREATE TABLE blobs (id int PRIMARY KEY, b bytea);
  ALTER TABLE blobs ALTER b SET STORAGE EXTERNAL;
  INSERT INTO blobs VALUES (1, decode((SELECT string_agg(md5(i::text), '') FROM generate_series(1, 6400) i), 'hex'));
)sql";

// Runs UPDATE loops until destroyed: each loop changes 40, 30, 20 and 10 rows of w4, w3, w2, W1.
class Writer {
 public:
  explicit Writer(const std::string& db)
      : thread_([this, db] {
          pg::Connection c = test::ConnectSource(db);
          while (!stop_) {
            c.Exec("UPDATE w4 SET v = v + 1");
            c.Exec("UPDATE w3 SET v = v + 1");
            c.Exec("UPDATE w2 SET v = v + 1");
            c.Exec("UPDATE \"Mixed\".\"W1\" SET v = v + 1");
          }
        }) {}
  ~Writer() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(Plan, BalancesWriteRatesMarksPkAndUniqueAndCarriesLobLimits) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, std::string("CREATE SCHEMA \"Mixed\";") + kFixture);
  fs::path dir = TempDir();
  std::string out = (dir / "walferry.yaml").string();
  test::CliResult r{};
  {
    Writer writer(db);
    r = test::RunWalferry({"--json", "--log-level", "off", "plan", "--source", test::Source().Uri(db), "--target",
                           test::Target().Uri(db), "--sets", "2", "--interval", "3", "--out", out, "--include",
                           "public.w%", "--include", "\"Mixed\".%"});
  }
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json plan = ParseJson(r.output);
  ASSERT_EQ(plan.at("sets").size(), 2u);
  double a = plan["sets"][0]["write_rate"], b = plan["sets"][1]["write_rate"];
  EXPECT_GT(a, 0);
  EXPECT_GT(b, 0);
  EXPECT_LE(plan.at("imbalance").get<double>(), 0.2) << plan.dump(2);  // 40+10 vs 30+20 rows per loop
  // A batch set is planned: the plan says how cdc applies it.
  EXPECT_NE(plan.at("notes").dump().find("set-based in batches"), std::string::npos) << plan.dump(2);

  config::Config cfg = config::Load(out);
  EXPECT_EQ(cfg.source, test::Source().Uri(db));
  auto sets = SetOf(cfg);
  ASSERT_EQ(sets.size(), 4u);
  EXPECT_EQ(sets["public.w4"], sets["\"Mixed\".\"W1\""]);
  EXPECT_EQ(sets["public.w3"], sets["public.w2"]);
  EXPECT_NE(sets["public.w4"], sets["public.w3"]);
  const auto* w2 = FindTable(cfg, "public.w2");
  ASSERT_NE(w2, nullptr);
  EXPECT_EQ(w2->apply, config::ApplyMode::kTransactional);
  EXPECT_NE(w2->reason.find("pk_and_unique"), std::string::npos);
  EXPECT_FALSE(FindTable(cfg, "public.w4")->apply.has_value());

  // Refuses to overwrite without --force; nothing is rewritten.
  auto again = test::RunWalferry({"plan", "--source", test::Source().Uri(db), "--sets", "1", "--out", out});
  EXPECT_EQ(again.exit_code, 2) << again.output;
  EXPECT_NE(again.output.find("already exists"), std::string::npos);
  EXPECT_EQ(config::Load(out), cfg);

  // LOB limit from the measured maximum: 100 KiB + 25% -> 128 KB, policy error.
  auto lob = test::RunWalferry({"--log-level", "off", "plan", "--source", test::Source().Uri(db), "--sets", "1",
                                "--out", out, "--force", "--include", "public.blobs"});
  ASSERT_EQ(lob.exit_code, 0) << lob.output;
  EXPECT_NE(lob.output.find("imbalance"), std::string::npos) << lob.output;
  config::Config lob_cfg = config::Load(out);
  const auto* blobs = FindTable(lob_cfg, "public.blobs");
  ASSERT_NE(blobs, nullptr);
  EXPECT_EQ(blobs->lob.max_kb, 128);
  EXPECT_EQ(blobs->lob.policy, config::LobPolicy::kError);
  fs::remove_all(dir);
}

// Never a password in a file: walferry.yaml gets the connections without their secrets (password, sslpassword)
// and mode 0600; the run says how to supply them.
// Foreign keys from the source's catalog keep linked tables (a quoted mixed-case parent, a chain, a partitioned
// child) in one set; with fewer groups than sets the plan says why it planned fewer.
TEST(Plan, KeepsTablesLinkedByForeignKeysInOneSet) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, R"sql(
    CREATE TABLE "Customers" (id int PRIMARY KEY);
    CREATE TABLE orders (id int PRIMARY KEY, customer int REFERENCES "Customers");
    CREATE TABLE lines (id int, order_id int REFERENCES orders, PRIMARY KEY (id, order_id)) PARTITION BY HASH (id);
    CREATE TABLE lines_0 PARTITION OF lines FOR VALUES WITH (MODULUS 2, REMAINDER 0);
    CREATE TABLE lines_1 PARTITION OF lines FOR VALUES WITH (MODULUS 2, REMAINDER 1);
    CREATE TABLE audit (id int PRIMARY KEY);
  )sql");
  fs::path dir = TempDir();
  std::string out = (dir / "walferry.yaml").string();
  test::CliResult r = test::RunWalferry({"--json", "--log-level", "off", "plan", "--source", test::Source().Uri(db),
                                         "--sets", "3", "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json plan = ParseJson(r.output);
  ASSERT_EQ(plan.at("sets").size(), 2u) << plan.dump(2);
  // The foreign-key note first; a second one says how batch sets are applied (cli/plan.cc).
  ASSERT_EQ(plan.at("notes").size(), 2u) << plan.dump(2);
  EXPECT_NE(plan["notes"][0].get<std::string>().find("asked for 3 sets, planned 2"), std::string::npos);
  EXPECT_NE(plan["notes"][1].get<std::string>().find("set-based in batches"), std::string::npos);
  auto sets = SetOf(config::Load(out));
  ASSERT_EQ(sets.size(), 4u);
  EXPECT_EQ(sets["public.\"Customers\""], sets["public.orders"]);
  EXPECT_EQ(sets["public.orders"], sets["public.lines"]);
  EXPECT_NE(sets["public.orders"], sets["public.audit"]);
}

TEST(Plan, LeavesSecretsOutOfTheFileAndWritesItForTheOwnerOnly) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, "CREATE TABLE t (id int PRIMARY KEY)");
  fs::path dir = TempDir();
  std::string out = (dir / "walferry.yaml").string();
  std::string source = "postgresql://postgres:Pw-In-Uri-31@127.0.0.1:" + std::to_string(test::Source().port()) +
                       "/" + db + "?sslmode=disable";
  std::string target = "host=127.0.0.1 port=" + std::to_string(test::Target().port()) + " dbname=" + db +
                       " user=postgres password='Pw-Key-Value-47' sslpassword=Ssl-Pw-53";
  auto r = test::RunWalferry({"plan", "--source", source, "--target", target, "--sets", "1", "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(out);
  std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const char* secret : {"Pw-In-Uri-31", "Pw-Key-Value-47", "Ssl-Pw-53"}) {
    EXPECT_EQ(yaml.find(secret), std::string::npos) << secret << " in\n" << yaml;
    EXPECT_EQ(r.output.find(secret), std::string::npos) << secret << " in\n" << r.output;
  }
  EXPECT_NE(r.output.find("PGPASSWORD"), std::string::npos) << r.output;
  EXPECT_EQ(fs::status(out).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  config::Config c = config::Load(out);
  EXPECT_NE(c.source.find("dbname='" + db + "'"), std::string::npos) << c.source;
  EXPECT_NE(c.source.find("sslmode='disable'"), std::string::npos) << c.source;
  // The file still works: the trust-authenticated test clusters need no password.
  EXPECT_EQ(test::RunWalferry({"-c", out, "ping"}).exit_code, 0);
  fs::remove_all(dir);
}

TEST(Plan, DmsMappingRoundTripsThroughTheCli) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, std::string("CREATE SCHEMA \"Mixed\";") + kFixture);
  fs::path dir = TempDir();
  std::string first = (dir / "first.yaml").string(), second = (dir / "second.yaml").string();
  auto out = test::RunWalferry({"--log-level", "off", "plan", "--source", test::Source().Uri(db), "--sets", "3",
                                "--out", first, "--dms-mapping-out", (dir / "dms").string()});
  ASSERT_EQ(out.exit_code, 0) << out.output;
  std::vector<std::string> args{"--log-level", "off", "plan", "--source", test::Source().Uri(db), "--out", second};
  for (const auto* name : {"set_1", "set_2", "set_3"}) {
    ASSERT_TRUE(fs::exists(dir / "dms" / (std::string(name) + ".json")));
    args.push_back("--from-dms-mapping");
    args.push_back((dir / "dms" / (std::string(name) + ".json")).string());
  }
  auto in = test::RunWalferry(args);
  ASSERT_EQ(in.exit_code, 0) << in.output;
  config::Config a = config::Load(first), b = config::Load(second);
  EXPECT_EQ(SetOf(a), SetOf(b));
  ASSERT_EQ(a.sets.size(), b.sets.size());
  for (size_t i = 0; i < a.sets.size(); ++i) {
    EXPECT_EQ(a.sets[i].name, b.sets[i].name);
    EXPECT_EQ(a.sets[i].apply, b.sets[i].apply);
    for (size_t j = 0; j < a.sets[i].tables.size(); ++j) {
      EXPECT_EQ(a.sets[i].tables[j].name, b.sets[i].tables[j].name);
      EXPECT_EQ(a.sets[i].tables[j].apply, b.sets[i].tables[j].apply);
      // limited+error exports as DMS "unlimited" (carry whole; the safe direction, see plan/dms_mapping.h)
      EXPECT_FALSE(b.sets[i].tables[j].lob.max_kb.has_value());
    }
  }
  fs::remove_all(dir);
}

TEST(Plan, ImportsThePlaybookMapping) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, R"sql(
    CREATE TABLE some_table_001 (id int PRIMARY KEY, doc jsonb);
    CREATE TABLE some_table_002 (id int PRIMARY KEY);
    CREATE TABLE some_table_003 (id int PRIMARY KEY);
    CREATE TABLE other (id int PRIMARY KEY);
  )sql");
  fs::path dir = TempDir();
  std::string out = (dir / "w.yaml").string();
  auto r = test::RunWalferry({"--log-level", "off", "plan", "--source", test::Source().Uri(db), "--out", out,
                              "--from-dms-mapping", std::string(WALFERRY_SOURCE_DIR) + "/tests/fixtures/dms/playbook_mapping.json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  config::Config cfg = config::Load(out);
  ASSERT_EQ(cfg.sets.size(), 1u);
  EXPECT_EQ(cfg.sets[0].name, "playbook_mapping");
  auto sets = SetOf(cfg);
  EXPECT_EQ(sets.size(), 3u);
  EXPECT_EQ(sets.count("public.other"), 0u);
  EXPECT_NE(r.output.find("1 selected table(s) are in no DMS mapping file and are NOT migrated: public.other"),
            std::string::npos) << r.output;
  fs::remove_all(dir);
}

TEST(Plan, RejectsBadInputWithExitCode2AndWritesNothing) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY);");
  fs::path dir = TempDir();
  std::string out = (dir / "w.yaml").string();
  std::string uri = test::Source().Uri(db);
  auto expect_2 = [&](std::vector<std::string> args, const std::string& message) {
    std::vector<std::string> full{"plan", "--source", uri, "--out", out};
    full.insert(full.end(), args.begin(), args.end());
    auto r = test::RunWalferry(full);
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(out));
  };
  expect_2({"--sets", "3"}, "cannot plan 3 sets for 2 tables");
  expect_2({"--sets", "1", "--include", "public.nosuch"}, "unknown table public.nosuch");
  expect_2({"--sets", "1", "--include", "zzz%.%"}, "selects no table");
  std::ofstream(dir / "bad.json") << "{\n  \"rules\": [\n    {\"rule-type\": \"selection\",,}\n  ]\n}\n";
  expect_2({"--from-dms-mapping", (dir / "bad.json").string()}, "bad.json:3:");
  std::ofstream(dir / "bad.yaml") << "version: 1\nsets:\n  - name: x\n    aply: batch\n";
  auto r = test::RunWalferry({"-c", (dir / "bad.yaml").string(), "plan", "--source", uri, "--sets", "1", "--out", out});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("bad.yaml:4"), std::string::npos) << r.output;
  expect_2({}, "exactly one of --sets");
  pg::Connection c = test::ConnectSource(db);
  EXPECT_EQ(c.Exec("SELECT count(*) FROM pg_replication_slots").Get(0, 0), "0");
  EXPECT_EQ(c.Exec("SELECT count(*) FROM pg_publication").Get(0, 0), "0");
  fs::remove_all(dir);
}

TEST(Plan, PglogicalReplicationSetsBecomeWalferrySets) {
  if (!fs::exists(localcluster::LocalCluster::BinDir() + "/../lib/pglogical.so") &&
      !fs::exists("/usr/lib/postgresql/15/lib/pglogical.so")) {
    GTEST_SKIP() << "pglogical is not installed (apt-get install postgresql-15-pglogical)";
  }
  localcluster::LocalCluster src = localcluster::LocalCluster::Create(
      {.name = "plan-pglogical", .logical = true, .settings = {"shared_preload_libraries = 'pglogical'"}});
  src.CreateDatabase("app");
  src.Psql("app", R"sql(
    CREATE EXTENSION pglogical;
    SELECT pglogical.create_node(node_name := 'provider', dsn := 'dbname=app');
    CREATE TABLE orders (id int PRIMARY KEY, email text UNIQUE);
    CREATE TABLE items (id int PRIMARY KEY);
    CREATE TABLE audit (id int PRIMARY KEY);
    SELECT pglogical.create_replication_set('Hot-Set');
    SELECT pglogical.replication_set_add_table('Hot-Set', 'orders');
    SELECT pglogical.replication_set_add_table('default', 'items');
    SELECT pglogical.replication_set_add_table('default', 'audit');
    CREATE TABLE history (id int PRIMARY KEY);
    CREATE TABLE "Odd Name" (id int PRIMARY KEY);
  )sql");
  fs::path dir = TempDir();
  std::string out = (dir / "w.yaml").string();
  auto r = test::RunWalferry({"--log-level", "off", "plan", "--source", src.Uri("app"), "--out", out, "--from-pglogical"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Tables in no pglogical set are not migrated: said, naming each (they used to be left out without a word).
  EXPECT_NE(r.output.find("2 selected table(s) are in no pglogical replication set and are NOT migrated: "
                          "public.\"Odd Name\", public.history"),
            std::string::npos) << r.output;
  auto j = test::RunWalferry({"--json", "--log-level", "off", "plan", "--source", src.Uri("app"), "--out", out,
                              "--force", "--from-pglogical"});
  ASSERT_EQ(j.exit_code, 0) << j.output;
  EXPECT_NE(j.output.find("public.history"), std::string::npos) << j.output;
  config::Config cfg = config::Load(out);
  auto sets = SetOf(cfg);
  EXPECT_EQ(sets.count("public.history"), 0u);
  EXPECT_EQ(sets["public.orders"], "hot_set");
  EXPECT_EQ(sets["public.items"], "default");
  EXPECT_EQ(sets["public.audit"], "default");
  EXPECT_EQ(FindTable(cfg, "public.orders")->apply, config::ApplyMode::kTransactional);

  std::string plain = test::FreshDatabase();
  test::Source().Psql(plain, "CREATE TABLE t (id int PRIMARY KEY);");
  auto none = test::RunWalferry({"plan", "--source", test::Source().Uri(plain), "--out", out, "--force",
                                 "--from-pglogical"});
  EXPECT_EQ(none.exit_code, 2) << none.output;
  EXPECT_NE(none.output.find("no pglogical extension"), std::string::npos) << none.output;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace walferry
