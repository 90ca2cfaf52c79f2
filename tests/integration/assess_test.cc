// `walferry assess` against real clusters: exact LOB sizes of values with known sizes, findings with their fixes,
// preflight checks, JSON validated against docs/schema/assess-v1.json, bad input, and proof it changes nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>
#include <unistd.h>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/process.h"
#include "localcluster/local_cluster.h"
#include "support/clusters.h"

namespace walferry {
namespace {

using nlohmann::json;

// Values of known stored size: random hex from md5 chains, decoded to incompressible bytes, kept out of line
// uncompressed (STORAGE EXTERNAL) so pg_column_size is exactly the value's length.
constexpr const char* kFixture = R"sql(
  CREATE FUNCTION rnd_hex(n_md5 int) RETURNS text LANGUAGE sql AS
    $$ SELECT string_agg(md5(random()::text || i::text), '') FROM generate_series(1, n_md5) i $$;
  CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL UNIQUE, name varchar(40));
  CREATE TABLE events (at timestamptz, what varchar(20));
  CREATE TABLE docs (id int PRIMARY KEY, body text, blob bytea, doc jsonb);
  ALTER TABLE docs ALTER body SET STORAGE EXTERNAL, ALTER blob SET STORAGE EXTERNAL, ALTER doc SET STORAGE EXTERNAL;
  INSERT INTO docs SELECT g, rnd_hex(16), decode(rnd_hex(64), 'hex'), jsonb_build_object('k', rnd_hex(8))
    FROM generate_series(1, 99) g;
  -- the largest values: body 50 KiB (51200 chars), blob 100 KiB (102400 bytes), doc a 20480-char string
  INSERT INTO docs VALUES (100, rnd_hex(1600), decode(rnd_hex(6400), 'hex'), jsonb_build_object('k', rnd_hex(640)));
  CREATE TABLE attachments (id int PRIMARY KEY, file oid);
  INSERT INTO attachments VALUES (1, lo_from_bytea(0, decode(rnd_hex(192), 'hex')));   -- 3072 bytes
  CREATE TABLE measurements (id int, at date, v int, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
  CREATE TABLE measurements_2024 PARTITION OF measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
  CREATE TABLE measurements_2025 PARTITION OF measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
  CREATE UNLOGGED TABLE scratch (x int);
  CREATE SCHEMA "Sales Dept";
  CREATE TYPE "Mood" AS ENUM ('ok', 'sad');
  CREATE TABLE "Sales Dept"."Order""Items" ("Id" int PRIMARY KEY, "Note" varchar(10), m "Mood", tags text[],
                                           g int GENERATED ALWAYS AS ("Id" * 2) STORED,
                                           n bigint GENERATED ALWAYS AS IDENTITY);
  CREATE TABLE nokey_unique (a int NOT NULL, b int);
  CREATE UNIQUE INDEX nokey_unique_a ON nokey_unique (a);
  CREATE SEQUENCE invoice_no;
)sql";

// The JSON document on stdout (logs are off; errors would come first and fail the parse).
json ParseJson(const std::string& output) {
  auto start = output.find('{');
  if (start == std::string::npos) throw std::runtime_error("no JSON in output:\n" + output);
  return json::parse(output.substr(start));
}

const json& Table(const json& doc, const std::string& schema, const std::string& name) {
  for (const auto& t : doc.at("tables")) {
    if (t.at("schema") == schema && t.at("name") == name) return t;
  }
  throw std::runtime_error("table " + schema + "." + name + " not in the assessment");
}

const json& Lob(const json& table, const std::string& column) {
  for (const auto& l : table.at("lob_columns")) {
    if (l.at("column") == column) return l;
  }
  throw std::runtime_error("no LOB column " + column);
}

const json* Finding(const json& table, const std::string& code) {
  for (const auto& f : table.at("findings")) {
    if (f.at("code") == code) return &f;
  }
  return nullptr;
}

std::string Check(const json& doc, const std::string& name) {
  for (const auto& c : doc.at("preflight")) {
    if (c.at("check") == name) return c.at("status");
  }
  return "missing";
}

// Validates with python3's jsonschema (Draft 2020-12) against docs/schema/assess-v1.json; "" when valid.
std::string ValidateAgainstSchema(const json& doc) {
  auto path = std::filesystem::temp_directory_path() / ("assess-" + std::to_string(getpid()) + ".json");
  std::ofstream(path) << doc.dump();
  std::string schema = std::string(WALFERRY_SOURCE_DIR) + "/docs/schema/assess-v1.json";
  std::string code =
      "import json,sys,jsonschema\n"
      "s=json.load(open(sys.argv[1])); d=json.load(open(sys.argv[2]))\n"
      "jsonschema.Draft202012Validator.check_schema(s)\n"
      "errs=[e.message+' at '+'/'.join(map(str,e.absolute_path)) for e in jsonschema.Draft202012Validator(s).iter_errors(d)]\n"
      "print('\\n'.join(errs)); sys.exit(1 if errs else 0)\n";
  ProcessResult r = RunProcess({"python3", "-c", code, schema, path.string()}, {});
  std::filesystem::remove(path);
  return r.exit_code == 0 ? "" : r.output;
}

std::string ServerState(pg::Connection& c) {
  pg::Result r = c.Exec(
      "SELECT (SELECT count(*) FROM pg_replication_slots)::text || '/' || (SELECT count(*) FROM pg_publication)::text"
      " || '/' || (SELECT count(*) FROM pg_namespace WHERE nspname = 'walferry')::text");
  return std::string(r.Get(0, 0));
}

TEST(Assess, ReportsExactLobSizesFindingsAndPreflight) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, kFixture);
  pg::Connection src = test::ConnectSource(db);
  std::string before = ServerState(src);
  auto r = test::RunWalferry({"--json", "--log-level", "off", "assess", "--source", test::Source().Uri(db),
                              "--lob-limit-kb", "60"});
  // events and nokey_unique have no replica identity: load would refuse them, so assess FAILs (exit 2).
  ASSERT_EQ(r.exit_code, 2) << r.output;
  json doc = ParseJson(r.output);
  EXPECT_EQ(ValidateAgainstSchema(doc), "");
  EXPECT_EQ(doc.at("version"), 1);
  EXPECT_EQ(doc.at("lob_sizes").at("method"), "exact");

  const json& docs = Table(doc, "public", "docs");
  EXPECT_EQ(Lob(docs, "blob").at("max_bytes"), 102400);
  EXPECT_DOUBLE_EQ(Lob(docs, "blob").at("max_kb").get<double>(), 100.0);
  EXPECT_EQ(Lob(docs, "body").at("max_bytes"), 51200);
  int64_t doc_max = Lob(docs, "doc").at("max_bytes");
  EXPECT_GE(doc_max, 20480);
  EXPECT_LE(doc_max, 20480 + 64);  // jsonb's own header and key
  // The 99th of 100 values is a 1 KiB one, stored inline uncompressed: 1024 bytes plus its 4-byte header.
  EXPECT_GE(Lob(docs, "blob").at("p99_bytes").get<int64_t>(), 1024);
  EXPECT_LE(Lob(docs, "blob").at("p99_bytes").get<int64_t>(), 1028);
  EXPECT_EQ(Lob(docs, "blob").at("rows_over_limit"), 1);  // only the 100 KiB value exceeds 60 KB
  EXPECT_EQ(Lob(docs, "body").at("rows_over_limit"), 0);
  EXPECT_EQ(docs.at("rows_over_limit"), 1);
  EXPECT_EQ(docs.at("rows_scanned"), 100);
  EXPECT_EQ(docs.at("recommended_lob_max_kb"), 128);  // 100 KiB + 25%, rounded up to 64 KB
  ASSERT_NE(Finding(docs, "lob"), nullptr);
  EXPECT_NE(Finding(docs, "lob")->at("fix").get<std::string>().find("max_kb: 128"), std::string::npos);

  const json& att = Table(doc, "public", "attachments");
  EXPECT_TRUE(Lob(att, "file").at("large_object").get<bool>());
  EXPECT_EQ(Lob(att, "file").at("max_bytes"), 3072);

  const json& users = Table(doc, "public", "users");
  ASSERT_NE(Finding(users, "pk_and_unique"), nullptr);
  EXPECT_EQ(users.at("unique_indexes")[0].at("name"), "users_email_key");
  EXPECT_TRUE(users.at("unique_indexes")[0].at("constraint").get<bool>());
  EXPECT_TRUE(users.at("lob_columns")[0].at("column") == "email");  // text; varchar(40) is not a LOB
  EXPECT_EQ(users.at("lob_columns").size(), 1u);

  const json& events = Table(doc, "public", "events");
  ASSERT_NE(Finding(events, "no_replica_identity"), nullptr);
  EXPECT_NE(Finding(events, "no_replica_identity")->at("fix").get<std::string>().find(
                "ALTER TABLE \"public\".\"events\" REPLICA IDENTITY FULL;"),
            std::string::npos);
  const json& nokey = Table(doc, "public", "nokey_unique");
  EXPECT_NE(Finding(nokey, "no_replica_identity")->at("fix").get<std::string>().find(
                "ALTER TABLE \"public\".\"nokey_unique\" REPLICA IDENTITY USING INDEX \"nokey_unique_a\";"),
            std::string::npos);

  const json& scratch = Table(doc, "public", "scratch");
  EXPECT_FALSE(scratch.at("selected").get<bool>());
  ASSERT_NE(Finding(scratch, "unlogged"), nullptr);
  const json& meas = Table(doc, "public", "measurements");
  EXPECT_TRUE(meas.at("selected").get<bool>());
  EXPECT_EQ(meas.at("partitions"), 2);
  ASSERT_NE(Finding(meas, "partitioned"), nullptr);
  for (const auto& t : doc.at("tables")) EXPECT_NE(t.at("name"), "measurements_2024");

  const json& items = Table(doc, "Sales Dept", "Order\"Items");
  std::set<std::string> kinds;
  for (const auto& c : items.at("care_columns")) kinds.insert(c.at("kind"));
  EXPECT_EQ(kinds, (std::set<std::string>{"array", "enum", "generated", "identity"}));

  std::set<std::string> source_findings;
  for (const auto& f : doc.at("findings")) source_findings.insert(f.at("code"));
  EXPECT_TRUE(source_findings.count("large_objects"));
  EXPECT_TRUE(source_findings.count("sequences"));
  EXPECT_EQ(doc.at("large_objects").at("count"), 1);

  EXPECT_EQ(Check(doc, "wal_level"), "PASS");
  EXPECT_EQ(Check(doc, "privilege_replication"), "PASS");
  EXPECT_EQ(Check(doc, "pgoutput_allowed"), "PASS");
  EXPECT_EQ(Check(doc, "replication_slots"), "PASS");
  EXPECT_EQ(Check(doc, "carried_tables"), "FAIL");
  EXPECT_EQ(doc.at("result"), "fail");
  EXPECT_EQ(ServerState(src), before) << "assess must not create slots, publications or schemas";
}

TEST(Assess, PrintsTablesForPeople) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, kFixture);
  auto r = test::RunWalferry({"--log-level", "off", "assess", "--source", test::Source().Uri(db)});
  ASSERT_EQ(r.exit_code, 2) << r.output;  // events and nokey_unique: FAIL carried_tables
  EXPECT_NE(r.output.find("Max LOB Size (KB)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("100.0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("pk_and_unique"), std::string::npos);
  EXPECT_NE(r.output.find("PASS  wal_level"), std::string::npos);
  EXPECT_NE(r.output.find("\"Sales Dept\".\"Order\"\"Items\""), std::string::npos);
}

TEST(Assess, SampledLobSizesAreLabelledEstimates) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, kFixture);
  auto r = test::RunWalferry({"--json", "--log-level", "off", "assess", "--source", test::Source().Uri(db),
                              "--lob-sizes", "sample:100"});
  ASSERT_EQ(r.exit_code, 2) << r.output;  // events and nokey_unique: FAIL carried_tables
  json doc = ParseJson(r.output);
  EXPECT_EQ(ValidateAgainstSchema(doc), "");
  EXPECT_EQ(doc.at("lob_sizes").at("method"), "sample");
  EXPECT_EQ(doc.at("lob_sizes").at("sample_percent"), 100.0);
  EXPECT_TRUE(Table(doc, "public", "docs").at("lob_estimated").get<bool>());
  EXPECT_EQ(Lob(Table(doc, "public", "docs"), "blob").at("max_bytes"), 102400);  // 100% of pages: every row
  auto bad = test::RunWalferry({"assess", "--source", test::Source().Uri(db), "--lob-sizes", "sample:abc"});
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("PERCENT is not a number"), std::string::npos) << bad.output;
}

TEST(Assess, MeasuresWriteRatesOverAnInterval) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, "CREATE TABLE hot (id int PRIMARY KEY, v int); INSERT INTO hot SELECT g, 0 FROM generate_series(1, 50) g;");
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    pg::Connection c = test::ConnectSource(db);
    while (!stop) c.Exec("UPDATE hot SET v = v + 1");
  });
  auto r = test::RunWalferry({"--json", "--log-level", "off", "assess", "--source", test::Source().Uri(db),
                              "--interval", "2"});
  stop = true;
  writer.join();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json doc = ParseJson(r.output);
  EXPECT_EQ(doc.at("write_rates").at("basis"), "interval");
  const json& hot = Table(doc, "public", "hot");
  EXPECT_GT(hot.at("updates").get<int64_t>(), 0);
  EXPECT_EQ(hot.at("inserts"), 0);  // the 50 inserts happened before the interval
  EXPECT_GT(hot.at("write_rate").get<double>(), 0);
}

TEST(Assess, FailsPreflightWithoutLogicalWalLevel) {
  localcluster::LocalCluster replica = localcluster::LocalCluster::Create({.name = "assess-replica", .logical = false});
  replica.CreateDatabase("app");
  replica.Psql("app", "CREATE TABLE t (id int PRIMARY KEY);");
  auto r = test::RunWalferry({"--json", "--log-level", "off", "assess", "--source", replica.Uri("app")});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  json doc = ParseJson(r.output);
  EXPECT_EQ(Check(doc, "wal_level"), "FAIL");
  EXPECT_EQ(doc.at("result"), "fail");
  auto text = test::RunWalferry({"--log-level", "off", "assess", "--source", replica.Uri("app")});
  EXPECT_EQ(text.exit_code, 2);
  EXPECT_NE(text.output.find("ALTER SYSTEM SET wal_level = logical"), std::string::npos) << text.output;
  auto plan = test::RunWalferry({"--log-level", "off", "plan", "--source", replica.Uri("app"), "--sets", "1", "--out",
                                 (std::filesystem::temp_directory_path() / "never-written.yaml").string()});
  EXPECT_EQ(plan.exit_code, 2) << plan.output;
  EXPECT_NE(plan.output.find("wal_level is 'replica'"), std::string::npos) << plan.output;
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::temp_directory_path() / "never-written.yaml"));
}

TEST(Assess, ReportsMissingPrivilegesWithTheirFix) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, R"sql(
    CREATE TABLE open_t (id int PRIMARY KEY);
    CREATE TABLE secret (id int PRIMARY KEY, body text);
    DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'assess_reader') THEN
        CREATE ROLE assess_reader LOGIN PASSWORD 'pw';
      END IF;
    END $$;
    GRANT SELECT ON open_t TO assess_reader;
    REVOKE CREATE ON DATABASE )sql" + db + R"sql( FROM PUBLIC;
  )sql");
  auto r = test::RunWalferry({"--json", "--log-level", "off", "assess", "--source",
                              test::Source().UriAs("assess_reader", "pw", db)});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  json doc = ParseJson(r.output);
  EXPECT_EQ(ValidateAgainstSchema(doc), "");
  EXPECT_EQ(Check(doc, "privilege_replication"), "FAIL");
  EXPECT_EQ(Check(doc, "privilege_select"), "FAIL");
  EXPECT_EQ(Check(doc, "privilege_create"), "FAIL");
  for (const auto& c : doc.at("preflight")) {
    if (c.at("check") == "privilege_select") {
      EXPECT_NE(c.at("fix").get<std::string>().find("GRANT SELECT ON \"public\".\"secret\" TO \"assess_reader\";"),
                std::string::npos);
    }
  }
  EXPECT_FALSE(Table(doc, "public", "secret").at("lob_measured").get<bool>());
}

TEST(Assess, RejectsUnknownTablesAndRulesThatSelectNothing) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, "CREATE TABLE a (id int PRIMARY KEY);");
  auto unknown = test::RunWalferry({"assess", "--source", test::Source().Uri(db), "--include", "public.nosuch"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("unknown table public.nosuch"), std::string::npos) << unknown.output;
  auto nothing = test::RunWalferry({"assess", "--source", test::Source().Uri(db), "--include", "nosuch%.%"});
  EXPECT_EQ(nothing.exit_code, 2) << nothing.output;
  EXPECT_NE(nothing.output.find("selects no table"), std::string::npos) << nothing.output;
}

}  // namespace
}  // namespace walferry

namespace walferry {
namespace {

// "Ready", then refused: assess listed no_replica_identity but ended "Result: ready", plan put the tables into
// sets, and load refused them one per run. Now assess FAILs naming every table load would refuse with its fix,
// plan refuses the same (writing nothing), and with those tables excluded both pass.
TEST(Assess, FailsForEveryTableLoadWouldRefuseAndPlanRefusesThemToo) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, R"sql(
    CREATE TABLE fine (id int PRIMARY KEY);
    CREATE TABLE log_a (at timestamptz, what text);
    CREATE TABLE log_b (n int NOT NULL, v text);
    CREATE UNIQUE INDEX log_b_n ON log_b (n);
    CREATE TABLE genkey (a int NOT NULL, k int GENERATED ALWAYS AS (a * 2) STORED PRIMARY KEY);
    CREATE TABLE unanalyzed (id int PRIMARY KEY) WITH (autovacuum_enabled = false);
    INSERT INTO unanalyzed SELECT generate_series(1, 1000);)sql");
  auto text = test::RunWalferry({"--log-level", "off", "assess", "--source", test::Source().Uri(db)});
  EXPECT_EQ(text.exit_code, 2) << text.output;
  // Rough edges: a table never analyzed showed "0" rows; the slot count read as the migration's when assess
  // cannot know how many sets plan will make.
  EXPECT_NE(text.output.find("unknown (never analyzed)"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("the migration needs one per replication set: at least 1 (plan --sets N needs N)"),
            std::string::npos) << text.output;
  EXPECT_NE(text.output.find("FAIL  carried_tables: 3 selected table(s) that walferry load would refuse"),
            std::string::npos) << text.output;
  EXPECT_NE(text.output.find("ALTER TABLE \"public\".\"log_b\" REPLICA IDENTITY USING INDEX \"log_b_n\";"),
            std::string::npos) << text.output;
  EXPECT_NE(text.output.find("public.log_a: ALTER TABLE \"public\".\"log_a\" ADD PRIMARY KEY"), std::string::npos)
      << text.output;
  EXPECT_NE(text.output.find("public.genkey: ALTER TABLE \"public\".\"genkey\" REPLICA IDENTITY FULL;"),
            std::string::npos) << text.output;
  EXPECT_NE(text.output.find("Result: FAIL"), std::string::npos) << text.output;

  auto out = std::filesystem::temp_directory_path() / ("plan-refused-" + db + ".yaml");
  auto plan = test::RunWalferry({"--log-level", "off", "plan", "--source", test::Source().Uri(db), "--sets", "2",
                                 "--out", out.string()});
  EXPECT_EQ(plan.exit_code, 2) << plan.output;
  for (const char* t : {"public.log_a (no_replica_identity)", "public.log_b (no_replica_identity)",
                        "public.genkey (generated_key)"}) {
    EXPECT_NE(plan.output.find(t), std::string::npos) << t << "\n" << plan.output;
  }
  EXPECT_FALSE(std::filesystem::exists(out));

  std::vector<std::string> excluded = {"--exclude", "public.log_a", "--exclude", "public.log_b", "--exclude",
                                       "public.genkey"};
  std::vector<std::string> args = {"--log-level", "off", "assess", "--source", test::Source().Uri(db)};
  args.insert(args.end(), excluded.begin(), excluded.end());
  auto ready = test::RunWalferry(args);
  EXPECT_EQ(ready.exit_code, 0) << ready.output;
  EXPECT_NE(ready.output.find("PASS  carried_tables"), std::string::npos) << ready.output;
  EXPECT_NE(ready.output.find("Result: ready"), std::string::npos) << ready.output;
  args = {"--log-level", "off", "plan", "--source", test::Source().Uri(db), "--sets", "1", "--out", out.string()};
  args.insert(args.end(), excluded.begin(), excluded.end());
  plan = test::RunWalferry(args);
  EXPECT_EQ(plan.exit_code, 0) << plan.output;
  EXPECT_TRUE(std::filesystem::exists(out));
  std::filesystem::remove(out);
}

}  // namespace
}  // namespace walferry
