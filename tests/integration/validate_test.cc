// `walferry validate` against real servers: it finds exactly the rows a test
// corrupts (keyed, keyless, mixed-case names), --repair fixes them, and while a
// (simulated) CDC applier lags behind a live workload it waits for the
// checkpoint and reports no false differences. Every test ends with
// test::DiffTable proving source equals target.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "control/control_schema.h"
#include "pg/copy_stream.h"
#include "support/clusters.h"

namespace walferry {
namespace {

struct JsonRun {
  int exit_code;
  nlohmann::json doc;
  std::string output;
};

JsonRun Validate(const std::string& db, std::vector<std::string> extra) {
  std::vector<std::string> args = {"--json", "--log-level", "warn", "validate", "--source", test::Source().Uri(db),
                                   "--target", test::Target().Uri(db)};
  args.insert(args.end(), extra.begin(), extra.end());
  test::CliResult r = test::RunWalferry(args);
  size_t at = r.output.find("{\n  \"equal\"");
  nlohmann::json doc = at == std::string::npos ? nlohmann::json() : nlohmann::json::parse(r.output.substr(at), nullptr, false);
  return {r.exit_code, doc, r.output};
}

// Copies a table's rows from source to target (same definition created on both beforehand).
void CopyTable(const std::string& db, const std::string& quoted) {
  pg::Connection s = test::ConnectSource(db);
  pg::Connection t = test::ConnectTarget(db);
  pg::CopyBetween(s, "COPY " + quoted + " TO STDOUT (FORMAT binary)", t, "COPY " + quoted + " FROM STDIN (FORMAT binary)");
}

void OnBoth(const std::string& db, const std::string& sql) {
  test::Source().Psql(db, sql);
  test::Target().Psql(db, sql);
}

// (kind, key) of every difference of one table in a validate --json document.
std::set<std::pair<std::string, std::string>> Differences(const nlohmann::json& doc, const std::string& table) {
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& s : doc.at("sets")) {
    for (const auto& t : s.at("tables")) {
      if (t.at("table") != table) continue;
      for (const auto& d : t.at("differences")) out.emplace(d.at("kind"), d.at("key"));
    }
  }
  return out;
}

TEST(Validate, FindsExactlyTheCorruptedRowsOfAMillionRowTableAndRepairsThem) {
  std::string db = test::FreshDatabase();
  OnBoth(db, "CREATE TABLE big (id bigint PRIMARY KEY, v int NOT NULL, note text, payload text, at timestamptz, "
             "f float8)");
  test::Source().Psql(db, R"sql(
    INSERT INTO big SELECT i, i % 1000, 'n' || i, NULL, '2024-01-01'::timestamptz + i * interval '1 second', i / 7.0
      FROM generate_series(1, 1000000) i;
    UPDATE big SET note = '' WHERE id = 777;
    -- A large value, stored out of line (TOAST): 400 kB of incompressible text.
    UPDATE big SET payload = (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 12500) g) WHERE id = 500000;
  )sql");
  CopyTable(db, "big");
  test::Target().Psql(db, R"sql(
    UPDATE big SET v = v + 1 WHERE id = 123;                          -- a changed value
    DELETE FROM big WHERE id = 4567;                                  -- a deleted row
    INSERT INTO big VALUES (2000001, 1, 'extra', NULL, NULL, NULL);   -- an extra row
    UPDATE big SET payload = overlay(payload placing 'Z' from 200000 for 1) WHERE id = 500000;  -- one byte
    UPDATE big SET note = NULL WHERE id = 777;                        -- NULL versus empty string
  )sql");

  JsonRun first = Validate(db, {"--range-rows", "50000", "--jobs", "2"});
  ASSERT_EQ(first.exit_code, 1) << first.output;
  ASSERT_TRUE(first.doc.is_object()) << first.output;
  std::set<std::pair<std::string, std::string>> want = {
      {"RECORD_DIFF", "(\"id\")=(123)"},    {"MISSING_TARGET", "(\"id\")=(4567)"},
      {"EXTRA_TARGET", "(\"id\")=(2000001)"}, {"RECORD_DIFF", "(\"id\")=(500000)"},
      {"RECORD_DIFF", "(\"id\")=(777)"}};
  EXPECT_EQ(Differences(first.doc, "public.big"), want) << first.output;
  const auto& table = first.doc["sets"][0]["tables"][0];
  EXPECT_EQ(table["source_rows"], 1000000);
  EXPECT_EQ(table["target_rows"], 1000000);
  EXPECT_EQ(first.doc["sets"][0]["set"], "default");
  EXPECT_TRUE(first.doc["sets"][0]["applied_lsn"].is_null());
  // The details name the differing column.
  for (const auto& d : table["differences"]) {
    std::string details = d["details"];
    if (d["key"] == "(\"id\")=(777)") {
      EXPECT_NE(details.find("\"note\": source '', target NULL"), std::string::npos) << d;
    }
    if (d["key"] == "(\"id\")=(500000)") {
      EXPECT_NE(details.find("\"payload\""), std::string::npos) << d;
    }
  }
  pg::Connection target = test::ConnectTarget(db);
  pg::Result stored = target.Exec(
      "SELECT failure_type, key FROM walferry.validation_failures WHERE task_name = 'default' AND table_owner = "
      "'public' AND table_name = 'big' ORDER BY key");
  std::set<std::pair<std::string, std::string>> in_control;
  for (int i = 0; i < stored.rows(); ++i) in_control.emplace(stored.Get(i, 0), stored.Get(i, 1));
  EXPECT_EQ(in_control, want);

  JsonRun repair = Validate(db, {"--range-rows", "50000", "--repair"});
  EXPECT_EQ(repair.exit_code, 0) << repair.output;
  EXPECT_EQ(repair.doc["sets"][0]["tables"][0]["remaining"].size(), 0u) << repair.output;
  EXPECT_EQ(repair.doc["sets"][0]["tables"][0]["repaired_rows"], 5) << repair.output;

  JsonRun after = Validate(db, {"--range-rows", "50000"});
  EXPECT_EQ(after.exit_code, 0) << after.output;
  EXPECT_TRUE(after.doc["equal"].get<bool>());
  pg::Connection source = test::ConnectSource(db);
  EXPECT_EQ(test::DiffTable(source, target, "big"), "");
}

TEST(Validate, FindsMissingDuplicateInKeylessTableAndDiffsInMixedCaseTable) {
  std::string db = test::FreshDatabase();
  OnBoth(db, R"sql(
    CREATE TABLE loose (a int, b text);
    CREATE SCHEMA "Sales Dept";
    CREATE TABLE "Sales Dept"."Order""Items" ("Region" text COLLATE "C", "Id" int, "Note Text" text, g int
                                              GENERATED ALWAYS AS ("Id" * 2) STORED, PRIMARY KEY ("Region", "Id"));
  )sql");
  test::Source().Psql(db, R"sql(
    INSERT INTO loose VALUES (1, 'x'), (1, 'x'), (1, 'x'), (2, 'y'), (3, NULL);
    INSERT INTO "Sales Dept"."Order""Items" ("Region", "Id", "Note Text")
      SELECT r, i, 'note ' || i FROM unnest(ARRAY['eu', 'US', 'ap south']) r, generate_series(1, 400) i;
  )sql");
  CopyTable(db, "loose");
  CopyTable(db, R"("Sales Dept"."Order""Items")");
  test::Target().Psql(db, R"sql(
    DELETE FROM loose WHERE ctid = (SELECT min(ctid) FROM loose WHERE a = 1);
    UPDATE "Sales Dept"."Order""Items" SET "Note Text" = 'changed' WHERE "Region" = 'US' AND "Id" = 17;
    DELETE FROM "Sales Dept"."Order""Items" WHERE "Region" = 'ap south' AND "Id" = 400;
  )sql");

  JsonRun first = Validate(db, {"--range-rows", "100", "--jobs", "3"});
  ASSERT_EQ(first.exit_code, 1) << first.output;
  auto loose = Differences(first.doc, "public.loose");
  ASSERT_EQ(loose.size(), 1u) << first.output;
  EXPECT_EQ(loose.begin()->first, "MISSING_TARGET");
  EXPECT_NE(first.output.find("1 copy of '(1,x)'"), std::string::npos) << first.output;
  std::set<std::pair<std::string, std::string>> want = {{"RECORD_DIFF", "(\"Region\", \"Id\")=(US, 17)"},
                                                        {"MISSING_TARGET", "(\"Region\", \"Id\")=(ap south, 400)"}};
  EXPECT_EQ(Differences(first.doc, R"("Sales Dept"."Order""Items")"), want) << first.output;

  // Only one table, by name.
  JsonRun one = Validate(db, {"--table", "public.loose"});
  EXPECT_EQ(one.exit_code, 1) << one.output;
  EXPECT_EQ(one.doc["sets"][0]["tables"].size(), 1u) << one.output;

  JsonRun repair = Validate(db, {"--range-rows", "100", "--repair"});
  EXPECT_EQ(repair.exit_code, 0) << repair.output;
  JsonRun after = Validate(db, {});
  EXPECT_EQ(after.exit_code, 0) << after.output;
  pg::Connection source = test::ConnectSource(db);
  pg::Connection target = test::ConnectTarget(db);
  EXPECT_EQ(test::DiffTable(source, target, "loose"), "");
  EXPECT_EQ(test::DiffTable(source, target, R"("Sales Dept"."Order""Items")"), "");
}

// The target's own triggers (an audit log, an updated_at stamp) and foreign keys do not act on the repair's writes:
// it writes as the CDC apply does, with session_replication_role = replica.
TEST(Validate, RepairWritesWithTheTargetsTriggersAndForeignKeysOff) {
  std::string db = test::FreshDatabase();
  OnBoth(db, "CREATE TABLE parent (id int PRIMARY KEY); "
             "CREATE TABLE rows (id int PRIMARY KEY, v text, stamped timestamptz, parent int REFERENCES parent)");
  test::Source().Psql(db, "INSERT INTO parent VALUES (1), (2); INSERT INTO rows SELECT g, 'v' || g, "
                          "'2024-01-01', 1 + g % 2 FROM generate_series(1, 100) g");
  CopyTable(db, "parent");
  CopyTable(db, "rows");
  test::Target().Psql(db, R"sql(
    CREATE TABLE audit (at timestamptz DEFAULT now(), what text);
    CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN NEW.stamped := now(); INSERT INTO audit (what) VALUES (TG_OP); RETURN NEW; END $$;
    CREATE TRIGGER stamp BEFORE INSERT OR UPDATE ON rows FOR EACH ROW EXECUTE FUNCTION stamp();
    ALTER TABLE rows DISABLE TRIGGER stamp;
    UPDATE rows SET v = 'changed' WHERE id = 5;
    DELETE FROM rows WHERE id = 6;
    ALTER TABLE rows ENABLE TRIGGER stamp;
    -- a row whose parent the target does not have yet: the foreign key would refuse the repair's insert
    DELETE FROM rows WHERE id = 7;
  )sql");
  test::Source().Psql(db, "INSERT INTO parent VALUES (3); UPDATE rows SET parent = 3 WHERE id = 7");
  JsonRun r = Validate(db, {"--repair", "--table", "public.rows"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  pg::Connection s = test::ConnectSource(db);
  pg::Connection t = test::ConnectTarget(db);
  EXPECT_EQ(test::DiffTable(s, t, "public.rows"), "");
  EXPECT_EQ(test::Count(t, "SELECT count(*) FROM audit"), 0) << "the audit trigger did not fire";
}

// A target without the key's unique index may hold one key many times (more than a leaf range's 64 rows): the
// comparison ends and reports every extra copy (it used to cut the same range again forever).
TEST(Validate, ManyCopiesOfOneKeyOnTheTargetAreReportedAndRepaired) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, "CREATE TABLE k (id int PRIMARY KEY, v text); "
                          "INSERT INTO k SELECT g, 'v' || g FROM generate_series(1, 1000) g");
  test::Target().Psql(db, "CREATE TABLE k (id int, v text)");
  CopyTable(db, "k");
  test::Target().Psql(db, "INSERT INTO k SELECT 500, 'v500' FROM generate_series(1, 200)");
  test::CliResult r = test::RunWalferry({"--json", "validate", "--source", test::Source().Uri(db), "--target",
                                         test::Target().Uri(db), "--range-rows", "100", "--max-differences",
                                         "1000"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("duplicate key on the target"), std::string::npos) << r.output;
  JsonRun repair = Validate(db, {"--repair", "--range-rows", "100", "--max-differences", "1000"});
  EXPECT_EQ(repair.exit_code, 0) << repair.output;
  pg::Connection s = test::ConnectSource(db);
  pg::Connection t = test::ConnectTarget(db);
  EXPECT_EQ(test::DiffTable(s, t, "k"), "");
}

// Sequences and large objects: CDC carries neither, so while the source takes writes validate lists the sequences
// behind and the large objects that differ as expected (exit 0); once the source is frozen (a completed cutover)
// each is a difference (exit 1, stored in validation_failures), until the target has them. A large object only on
// the target counts only when the migration copied it.
TEST(Validate, SequencesBehindAndLargeObjectsThatDifferAreReported) {
  std::string db = test::FreshDatabase();
  const char* ddl = R"sql(
    CREATE TABLE items (id serial PRIMARY KEY, v text);
    CREATE SEQUENCE "Order Seq";
    CREATE SEQUENCE down INCREMENT BY -1 MAXVALUE -1;
    CREATE SEQUENCE level;
    CREATE SEQUENCE "Jumped";
    SELECT lo_from_bytea(7001, 'same'), lo_from_bytea(7003, 'source bytes');
  )sql";
  OnBoth(db, ddl);
  test::Source().Psql(db, "INSERT INTO items (v) SELECT 'v' || g FROM generate_series(1, 50) g; "
                          "SELECT nextval('\"Order Seq\"'), nextval('down'), nextval('down'); "
                          // Not called, next value 50: pg_sequences shows NULL, as for a fresh sequence.
                          "SELECT setval('\"Jumped\"', 50, false); "
                          "SELECT lo_from_bytea(7002, 'only on the source'); SELECT lo_put(7003, 0, 'SOURCE');");
  CopyTable(db, "items");
  // 7004: copied by the migration (recorded as walferry records it, control/copied_large_objects.h), gone from the
  // source since; 7005: another application's, never the migration's to compare.
  test::Target().Psql(db, "SELECT setval('items_id_seq', 40); SELECT nextval('\"Order Seq\"'); "
                          "SELECT lo_from_bytea(7004, 'only on the target'); SELECT nextval('level'); "
                          "SELECT nextval('\"Jumped\"'); SELECT lo_from_bytea(7005, 'another application''s'); "
                          "CREATE SCHEMA IF NOT EXISTS walferry; CREATE TABLE IF NOT EXISTS "
                          "walferry.copied_large_objects (lo oid PRIMARY KEY, copied_at timestamptz NOT NULL "
                          "DEFAULT now()); INSERT INTO walferry.copied_large_objects (lo) VALUES (7004)");
  auto kinds = [](const nlohmann::json& doc) {
    std::set<std::pair<std::string, std::string>> out;
    for (const auto& d : doc["objects"]["differences"]) out.emplace(d["kind"], d["name"]);
    return out;
  };
  const std::set<std::pair<std::string, std::string>> want = {
      {"SEQUENCE_BEHIND", R"("public"."items_id_seq")"}, {"SEQUENCE_BEHIND", R"("public"."Order Seq")"},
      {"SEQUENCE_BEHIND", R"("public"."down")"},         {"SEQUENCE_BEHIND", R"("public"."Jumped")"},
      {"LO_DIFF", "7002"},
      {"LO_DIFF", "7003"},                               {"LO_DIFF", "7004"}};
  // "Order Seq": nextval once on each side, equal; "level" is ahead on the target: neither is listed.
  JsonRun live = Validate(db, {});
  EXPECT_EQ(live.exit_code, 0) << live.output;
  EXPECT_EQ(live.doc["objects"]["final"], false) << live.output;
  EXPECT_EQ(live.doc["objects"]["sequences"], 5) << live.output;
  EXPECT_EQ(live.doc["objects"]["large_objects"], 3) << live.output;
  std::set<std::pair<std::string, std::string>> want_live = want;
  want_live.erase({"SEQUENCE_BEHIND", R"("public"."Order Seq")"});
  EXPECT_EQ(kinds(live.doc), want_live) << live.output;

  // Frozen: the source takes no writes (a cutover is done); now they count.
  test::Source().Psql(db, "SELECT nextval('\"Order Seq\"')");
  test::Target().Psql(db, "INSERT INTO walferry.cutover (step, source_database) VALUES ('done', current_database())");
  JsonRun frozen = Validate(db, {});
  EXPECT_EQ(frozen.exit_code, 1) << frozen.output;
  EXPECT_EQ(frozen.doc["equal"], false) << frozen.output;
  EXPECT_EQ(kinds(frozen.doc), want) << frozen.output;
  pg::Connection t = test::ConnectTarget(db);
  EXPECT_EQ(test::Count(t, "SELECT count(*) FROM walferry.validation_failures WHERE task_name = '(database)' "
                           "AND failure_type IN ('SEQUENCE_BEHIND', 'LO_DIFF')"),
            7);
  test::CliResult text = test::RunWalferry({"validate", "--source", test::Source().Uri(db), "--target",
                                           test::Target().Uri(db)});
  EXPECT_EQ(text.exit_code, 1) << text.output;
  EXPECT_NE(text.output.find("LO_DIFF          7003  contents differ"), std::string::npos) << text.output;

  // The target set as the cutover sets it: equal.
  pg::Connection s = test::ConnectSource(db);
  for (const char* seq : {"items_id_seq", "\"Order Seq\"", "down", "\"Jumped\""}) {
    pg::Result v = s.Exec(std::string("SELECT last_value::text, is_called FROM ") + seq);
    t.Exec("SELECT setval($1::regclass, $2::bigint, $3::bool)",
           {pg::Param(seq), pg::Param(std::string(v.Get(0, 0))), pg::Param(v.GetBool(0, 1) ? "true" : "false")});
  }
  t.Exec("SELECT lo_unlink(7004), lo_from_bytea(7002, 'only on the source'), lo_put(7003, 0, 'SOURCE')");
  JsonRun fixed = Validate(db, {});
  EXPECT_EQ(fixed.exit_code, 0) << fixed.output;
  EXPECT_EQ(fixed.doc["objects"]["differences"].size(), 0u) << fixed.output;
  EXPECT_EQ(test::DiffTable(s, t, "items"), "");
}

// A keyless table of 2,000,000 distinct rows whose checksums differ (one row missing on the target): the multiset
// is read in hash order through a cursor on each server and merged as it streams, so walferry's memory does not
// grow with the table (it held every distinct row of both sides, several hundred MB here).
// What is measured: the peak of the bytes walferry holds allocated, which walferry reports itself under the test
// hook WALFERRY_HEAP_PEAK_FILE (cli/main.cc: malloc/new less free/delete, counted through AddressSanitizer's
// allocator hooks). Not the process's RSS: under ASan it also holds the quarantine of freed memory, the allocator's
// per-size caches and the shadow, which vary with the machine and the allocation pattern (193 MB over the baseline
// on a fresh machine against about 20 MB where it was written, with the same code): a bound on it flakes, and says
// nothing about what walferry keeps (with ASan's default quarantine this run's RSS peaks ~400 MB over `walferry
// version` while it holds 2 MB). Held bytes do not depend on any of that: a streaming run holds two batches of
// kMultisetBatch hashes and libpq's buffers, 2 MB here; holding the table's distinct rows is hundreds of MB (seen:
// 556 MB, failing the bound, with a temporary patch that read both sides whole into maps first, as before 9b92df1).
// In a build without ASan the hook writes nothing and the process's peak RSS is bounded instead, where it means
// what it says.
TEST(Validate, AKeylessTableOfTwoMillionRowsIsComparedInBoundedMemory) {
  std::string db = test::FreshDatabase();
  OnBoth(db, "CREATE TABLE log (n int, note text); "
             "INSERT INTO log SELECT g, 'entry number ' || g FROM generate_series(1, 2000000) g");
  test::Target().Psql(db, "DELETE FROM log WHERE n = 1234567");
  std::string out = ::testing::TempDir() + "/keyless-" + db + ".log";
  std::string heap_file = ::testing::TempDir() + "/keyless-" + db + ".heap";
  std::filesystem::remove(heap_file);
  // Peak RSS in MB of one walferry run: its VmHWM, read while it runs (wait4's ru_maxrss would count the test
  // process it was forked from).
  auto peak_mb = [&](const std::vector<std::string>& args, int& status) {
    pid_t pid = test::SpawnWalferry(args, false, out);
    EXPECT_GT(pid, 0);
    long hwm_kb = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      std::ifstream proc("/proc/" + std::to_string(pid) + "/status");
      for (std::string line; std::getline(proc, line);) {
        if (line.starts_with("VmHWM:")) hwm_kb = std::max(hwm_kb, std::stol(line.substr(6)));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return hwm_kb / 1024;
  };
  int status = 0;
  const long baseline = peak_mb({"version"}, status);
  setenv("WALFERRY_HEAP_PEAK_FILE", heap_file.c_str(), 1);
  const long peak = peak_mb({"--json", "validate", "--source", test::Source().Uri(db), "--target",
                             test::Target().Uri(db)},
                            status);
  unsetenv("WALFERRY_HEAP_PEAK_FILE");
  std::string output;
  {
    std::ifstream f(out);
    output.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_EQ(WEXITSTATUS(status), 1) << output;
  EXPECT_NE(output.find("\"source_rows\": 2000000"), std::string::npos) << output;
  EXPECT_NE(output.find("MISSING_TARGET"), std::string::npos) << output;
  EXPECT_NE(output.find("\"copies\": 1"), std::string::npos) << output;
#if defined(__SANITIZE_ADDRESS__)
  ASSERT_TRUE(std::filesystem::exists(heap_file)) << "an ASan build of walferry wrote no " << heap_file;
#endif
  if (std::filesystem::exists(heap_file)) {
    long held_mb = std::stol(test::ReadWholeFile(heap_file)) / (1024 * 1024);
    EXPECT_LT(held_mb, 64) << "walferry validate held up to " << held_mb << " MB allocated\n" << output;
    std::cout << "walferry validate held at most " << held_mb << " MB allocated (peak RSS " << peak
              << " MB under ASan, walferry version " << baseline << " MB)\n";
  } else {
    EXPECT_LT(peak - baseline, 100) << "peak RSS " << peak << " MB, walferry version " << baseline << " MB\n"
                                    << output;
    std::cout << "walferry validate peak RSS: " << peak << " MB (walferry version: " << baseline << " MB)\n";
  }
  JsonRun repair = Validate(db, {"--repair"});
  EXPECT_EQ(repair.exit_code, 0) << repair.output;
  pg::Connection s = test::ConnectSource(db);
  pg::Connection t = test::ConnectTarget(db);
  EXPECT_EQ(test::Count(t, "SELECT count(*) FROM log WHERE n = 1234567"), 1);
  EXPECT_EQ(test::DiffTable(s, t, "log"), "");
}

// A target database with another collation provider (ICU) sorts text keys differently from the source's libc: the
// difference is reported (a note naming both), key ranges are compared in byte order on both, and equal data is
// equal; a changed row is still found.
TEST(Validate, ReportsACollationProviderDifferenceAndComparesTextKeysInByteOrder) {
  std::string db = test::FreshDatabase();
  test::Target().Psql("postgres", "DROP DATABASE " + db);
  test::Target().Psql("postgres", "CREATE DATABASE " + db + " LOCALE_PROVIDER icu ICU_LOCALE 'und' "
                                  "LOCALE 'C.UTF-8' TEMPLATE template0");
  OnBoth(db, "CREATE TABLE words (w text PRIMARY KEY, n int)");
  test::Source().Psql(db, "INSERT INTO words SELECT w || g, g FROM generate_series(1, 3000) g, "
                          "unnest(ARRAY['a', 'B', '_x', 'Z', 'é', 'e']) w");
  CopyTable(db, "words");
  JsonRun same = Validate(db, {"--range-rows", "500"});
  EXPECT_EQ(same.exit_code, 0) << same.output;
  ASSERT_EQ(same.doc["sets"][0]["notes"].size(), 1u) << same.output;
  EXPECT_NE(same.doc["sets"][0]["notes"][0].get<std::string>().find("i/C.UTF-8"), std::string::npos) << same.output;
  test::Target().Psql(db, "UPDATE words SET n = -1 WHERE w = '_x1500'");
  JsonRun changed = Validate(db, {"--range-rows", "500"});
  EXPECT_EQ(changed.exit_code, 1) << changed.output;
  EXPECT_EQ(Differences(changed.doc, "public.words"),
            (std::set<std::pair<std::string, std::string>>{{"RECORD_DIFF", R"(("w")=(_x1500))"}}))
      << changed.output;
  test::Target().Psql(db, "UPDATE words SET n = 1500 WHERE w = '_x1500'");
  // (test::DiffTable orders rows by each server's collation; here byte order on both.)
  pg::Connection s = test::ConnectSource(db);
  pg::Connection t = test::ConnectTarget(db);
  const std::string all = "SELECT md5(string_agg(w || ':' || n, ',' ORDER BY w COLLATE \"C\")) FROM words";
  EXPECT_EQ(test::Text(s, all), test::Text(t, all));
}

TEST(Validate, ReportsATableMissingOnTheTarget) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, "CREATE TABLE only_source (id int PRIMARY KEY); INSERT INTO only_source VALUES (1);");
  JsonRun r = Validate(db, {});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.doc["sets"][0]["tables"][0]["problem"], "table does not exist on the target") << r.output;
  test::CliResult text = test::RunWalferry({"validate", "--source", test::Source().Uri(db), "--target",
                                           test::Target().Uri(db)});
  EXPECT_EQ(text.exit_code, 1) << text.output;
  EXPECT_NE(text.output.find("table does not exist on the target"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("DIFFERENT: 1 table(s) compared"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("no CDC checkpoint for this set"), std::string::npos) << text.output;
}

// Values that compare equal but are not the same are told apart on every path validate hashes by: numeric 1.0 and
// 1.00 (also inside jsonb), float8 0 and -0, text in NFC and NFD, one byte of a large TOASTed bytea, an empty
// bytea and NULL, two rows' bytea values swapped. The table is cut into ranges by bytes (--range-bytes, values of
// about 60 kB), a keyless table with bytea is compared as a multiset, and 40 small tables are compared one per
// worker; the differences found are exactly the ones made, and --repair makes the target equal.
TEST(Validate, TellsApartValuesThatCompareEqualInEveryHashedForm) {
  std::string db = test::FreshDatabase();
  std::string small_tables;
  for (int i = 1; i <= 40; ++i) {
    small_tables += "CREATE TABLE s" + std::to_string(i) + " (id int PRIMARY KEY, b bytea, note text); ";
  }
  OnBoth(db, R"sql(
    CREATE TABLE exact (id int PRIMARY KEY, n numeric, f float8, s text, b bytea, j jsonb);
    CREATE TABLE loose_bytes (a int, b bytea);
    CREATE TABLE skewed (id bigint PRIMARY KEY, v text);
  )sql" + small_tables);
  std::string fill;
  for (int i = 1; i <= 40; ++i) {
    fill += "INSERT INTO s" + std::to_string(i) + " SELECT g, decode(md5(g::text), 'hex'), 'n' || g "
            "FROM generate_series(1, 50) g; ";
  }
  test::Source().Psql(db, R"sql(
    ALTER TABLE exact ALTER COLUMN b SET STORAGE EXTERNAL;
    INSERT INTO exact SELECT g, 1.0, 0, U&'caf\00E9 ' || g,
                             decode(repeat(md5(g::text), 2000 + g % 7), 'hex'), '{"a": 1.0}'
      FROM generate_series(1, 300) g;
    UPDATE exact SET b = '' WHERE id = 50;
    INSERT INTO loose_bytes SELECT g % 5, decode(repeat(md5(g::text), 100), 'hex') FROM generate_series(1, 40) g;
    INSERT INTO skewed SELECT CASE WHEN g = 1 THEN -9223372036854775807 WHEN g = 3000 THEN 9223372036854775807
                                   ELSE g::bigint * g * g END, 'v' || g FROM generate_series(1, 3000) g;
  )sql" + fill);
  CopyTable(db, "exact");
  CopyTable(db, "skewed");
  CopyTable(db, "loose_bytes");
  for (int i = 1; i <= 40; ++i) CopyTable(db, "s" + std::to_string(i));
  OnBoth(db, "ANALYZE");
  test::Target().Psql(db, R"sql(
    UPDATE exact SET n = 1.00 WHERE id = 10;
    UPDATE exact SET f = '-0' WHERE id = 20;
    UPDATE exact SET s = U&'cafe\0301 30' WHERE id = 30;
    UPDATE exact SET b = set_byte(b, 30000, get_byte(b, 30000) # 1) WHERE id = 40;
    UPDATE exact SET b = NULL WHERE id = 50;
    UPDATE exact SET j = '{"a": 1.00}' WHERE id = 60;
    UPDATE exact SET b = (SELECT b FROM exact WHERE id = 71) WHERE id = 70;
    UPDATE exact SET b = (SELECT decode(repeat(md5('70'), 2000), 'hex')) WHERE id = 71;
    UPDATE loose_bytes SET b = set_byte(b, 1000, get_byte(b, 1000) # 128)
      WHERE ctid = (SELECT min(ctid) FROM loose_bytes);
    UPDATE s17 SET b = set_byte(b, 3, get_byte(b, 3) # 1) WHERE id = 33;
    UPDATE skewed SET v = 'changed' WHERE id IN (-9223372036854775807, 8, 27000, 9223372036854775807);
    DELETE FROM skewed WHERE id = 8000000000;
  )sql");
  pg::Connection source = test::ConnectSource(db);
  ASSERT_EQ(test::Count(source, "SELECT count(*) FROM exact WHERE id = 70 AND "
                                "b = decode(repeat(md5('70'), 2000), 'hex')"),
            1)
      << "the swap must move row 70's own value to row 71";

  // skewed: one integer key, min and max at the type's ends, cut into ranges by its min and max (--range-rows 100)
  JsonRun first = Validate(db, {"--range-bytes", "1000000", "--range-rows", "100", "--jobs", "3"});
  ASSERT_EQ(first.exit_code, 1) << first.output;
  std::set<std::pair<std::string, std::string>> want;
  for (int id : {10, 20, 30, 40, 50, 60, 70, 71}) want.emplace("RECORD_DIFF", "(\"id\")=(" + std::to_string(id) + ")");
  EXPECT_EQ(Differences(first.doc, "public.exact"), want) << first.output;
  auto loose = Differences(first.doc, "public.loose_bytes");
  EXPECT_EQ(loose.size(), 2u) << first.output;
  std::set<std::pair<std::string, std::string>> s17 = {{"RECORD_DIFF", "(\"id\")=(33)"}};
  std::set<std::pair<std::string, std::string>> skewed = {
      {"RECORD_DIFF", "(\"id\")=(-9223372036854775807)"}, {"RECORD_DIFF", "(\"id\")=(8)"},
      {"RECORD_DIFF", "(\"id\")=(27000)"}, {"RECORD_DIFF", "(\"id\")=(9223372036854775807)"},
      {"MISSING_TARGET", "(\"id\")=(8000000000)"}};
  EXPECT_EQ(Differences(first.doc, "public.skewed"), skewed) << first.output;
  EXPECT_EQ(Differences(first.doc, "public.s17"), s17) << first.output;
  for (int i = 1; i <= 40; ++i) {
    if (i != 17) {
      EXPECT_EQ(Differences(first.doc, "public.s" + std::to_string(i)).size(), 0u) << i;
    }
  }

  JsonRun repair = Validate(db, {"--range-bytes", "1000000", "--repair"});
  EXPECT_EQ(repair.exit_code, 0) << repair.output;
  JsonRun after = Validate(db, {});
  EXPECT_EQ(after.exit_code, 0) << after.output;
  pg::Connection target = test::ConnectTarget(db);
  EXPECT_EQ(test::DiffTable(source, target, "exact"), "");
  EXPECT_EQ(test::DiffTable(source, target, "loose_bytes"), "");
  EXPECT_EQ(test::DiffTable(source, target, "s17"), "");
  EXPECT_EQ(test::DiffTable(source, target, "skewed"), "");
}

// Large compressible values (stored compressed in TOAST, as the bench's large-value table): one byte changed in the
// middle of a 300 kB bytea, and a value one byte shorter, are each found as the one row that differs, with the
// table cut into ranges by bytes. Long text (hashed as its md5, not as its quoted text): 'café' in NFD written over
// four characters in the middle of an 18 kB value, a value of 1,001 bytes cut to 1,000 (across the long/short limit), a long value
// replaced by its own md5 as text, NULL against the empty string. --repair makes the target equal.
TEST(Validate, OneByteInTheMiddleOfA300KilobyteCompressedValueIsFound) {
  std::string db = test::FreshDatabase();
  OnBoth(db, "CREATE TABLE large_values (id int PRIMARY KEY, v bytea, t text)");
  test::Source().Psql(db, R"sql(
    INSERT INTO large_values SELECT g, decode(repeat(md5(g::text) || md5((g + 1)::text), 9600), 'hex'),
                                   repeat(U&'caf\00E9 "q" \\ ' || g, 1200)
      FROM generate_series(1, 40) g;
    UPDATE large_values SET t = repeat('x', 1001) WHERE id = 5;
    UPDATE large_values SET t = '' WHERE id = 9;
  )sql");
  CopyTable(db, "large_values");
  OnBoth(db, "ANALYZE");
  test::Target().Psql(db, R"sql(
    UPDATE large_values SET v = set_byte(v, 153600, get_byte(v, 153600) # 1) WHERE id = 17;
    UPDATE large_values SET v = substring(v FROM 1 FOR length(v) - 1) WHERE id = 31;
    UPDATE large_values SET t = overlay(t PLACING U&'cafe\0301' FROM 10000 FOR 4) WHERE id = 23;
    UPDATE large_values SET t = repeat('x', 1000) WHERE id = 5;
    UPDATE large_values SET t = md5(t) WHERE id = 7;
    UPDATE large_values SET t = NULL WHERE id = 9;
  )sql");
  pg::Connection source = test::ConnectSource(db);
  ASSERT_EQ(test::Count(source, "SELECT count(*) FROM large_values WHERE length(v) = 307200 "
                                "AND pg_column_size(v) < 30000"),
            40)
      << "the values must be 300 kB and stored compressed";
  JsonRun first = Validate(db, {"--range-bytes", "2000000", "--jobs", "2"});
  ASSERT_EQ(first.exit_code, 1) << first.output;
  std::set<std::pair<std::string, std::string>> want;
  for (int id : {5, 7, 9, 17, 23, 31}) want.emplace("RECORD_DIFF", "(\"id\")=(" + std::to_string(id) + ")");
  EXPECT_EQ(Differences(first.doc, "public.large_values"), want) << first.output;
  JsonRun repair = Validate(db, {"--repair"});
  EXPECT_EQ(repair.exit_code, 0) << repair.output;
  pg::Connection target = test::ConnectTarget(db);
  EXPECT_EQ(test::DiffTable(source, target, "large_values"), "");
}

// Many small keyed tables are checked in groups, one statement per server per group: a difference in any table of
// a group is still found exactly (values that compare equal but are not identical included), with each table's
// own row counts, and the tables beside it are reported equal.
TEST(Validate, SmallTablesCheckedTogetherStillFindEveryDifferenceExactly) {
  std::string db = test::FreshDatabase();
  std::string tables, fill;
  for (int i = 1; i <= 60; ++i) {
    const std::string name = i == 30 ? "\"Small Mixed\"" : "g" + std::to_string(i);
    tables += "CREATE TABLE " + name + " (id int PRIMARY KEY, n numeric, f float8, t text); ";
    fill += "INSERT INTO " + name + " SELECT g, 1.0, 0, 'row ' || g FROM generate_series(1, 20) g; ";
  }
  OnBoth(db, tables);
  test::Source().Psql(db, fill);
  for (int i = 1; i <= 60; ++i) CopyTable(db, i == 30 ? "\"Small Mixed\"" : "g" + std::to_string(i));
  OnBoth(db, "ANALYZE");
  test::Target().Psql(db, R"sql(
    UPDATE g7 SET n = 1.00 WHERE id = 3;
    DELETE FROM g23 WHERE id = 20;
    INSERT INTO g41 VALUES (21, 1.0, 0, 'extra');
    UPDATE g59 SET f = '-0' WHERE id = 1;
    UPDATE "Small Mixed" SET t = 'Row 5' WHERE id = 5;
  )sql");
  JsonRun first = Validate(db, {"--jobs", "2"});
  ASSERT_EQ(first.exit_code, 1) << first.output;
  using Found = std::set<std::pair<std::string, std::string>>;
  EXPECT_EQ(Differences(first.doc, "public.g7"), (Found{{"RECORD_DIFF", "(\"id\")=(3)"}})) << first.output;
  EXPECT_EQ(Differences(first.doc, "public.g23"), (Found{{"MISSING_TARGET", "(\"id\")=(20)"}})) << first.output;
  EXPECT_EQ(Differences(first.doc, "public.g41"), (Found{{"EXTRA_TARGET", "(\"id\")=(21)"}})) << first.output;
  EXPECT_EQ(Differences(first.doc, "public.g59"), (Found{{"RECORD_DIFF", "(\"id\")=(1)"}})) << first.output;
  EXPECT_EQ(Differences(first.doc, "public.\"Small Mixed\""), (Found{{"RECORD_DIFF", "(\"id\")=(5)"}}))
      << first.output;
  int compared = 0;
  for (const auto& set : first.doc.at("sets")) {
    for (const auto& t : set.at("tables")) {
      ++compared;
      const std::string name = t.at("table");
      const bool changed = name == "public.g7" || name == "public.g23" || name == "public.g41" ||
                           name == "public.g59" || name == "public.\"Small Mixed\"";
      if (!changed) {
        EXPECT_EQ(t.at("differences").size(), 0u) << name;
      }
      EXPECT_EQ(t.at("source_rows"), 20) << name;
      EXPECT_EQ(t.at("target_rows"), name == "public.g23" ? 19 : name == "public.g41" ? 21 : 20) << name;
    }
  }
  EXPECT_EQ(compared, 60) << first.output;
  JsonRun repair = Validate(db, {"--repair"});
  EXPECT_EQ(repair.exit_code, 0) << repair.output;
  EXPECT_EQ(Validate(db, {}).exit_code, 0);
  pg::Connection source = test::ConnectSource(db);
  pg::Connection target = test::ConnectTarget(db);
  for (const char* t : {"g7", "g23", "g41", "g59", "\"Small Mixed\""}) {
    EXPECT_EQ(test::DiffTable(source, target, t), "") << t;
  }
}

// retention.validation_failures: before a run stores its differences, the set's stored ones older than the
// retention are deleted (default 30 days); recent ones and other sets' stay; 0 keeps every row.
TEST(Validate, DeletesTheSetsValidationFailuresOlderThanTheRetention) {
  std::string db = test::FreshDatabase();
  OnBoth(db, "CREATE TABLE kept (id int PRIMARY KEY); INSERT INTO kept VALUES (1);");
  pg::Connection t = test::ConnectTarget(db);
  control::ControlSchema(t, "walferry").Ensure();
  auto add = [&](const std::string& set, const std::string& key, const std::string& age) {
    t.Exec("INSERT INTO walferry.validation_failures (task_name, table_owner, table_name, key, failure_type, "
           "failure_time) VALUES ($1, 'public', 'kept', $2, 'RECORD_DIFF', now() - $3::interval)",
           {pg::Param(set), pg::Param(key), pg::Param(age)});
  };
  add("default", "old1", "40 days");
  add("default", "old2", "31 days");
  add("default", "recent", "29 days");
  add("other", "other_old", "400 days");
  std::vector<std::string> args = {"validate", "--source", test::Source().Uri(db), "--target", test::Target().Uri(db)};
  test::CliResult r = test::RunWalferry(args);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("set default: removed 2 validation failures older than 30d (retention.validation_failures)"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(test::Text(t, "SELECT string_agg(key, ',' ORDER BY key) FROM walferry.validation_failures"),
            "other_old,recent");

  std::string config = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/" + db + ".yaml";
  std::ofstream(config) << "version: 1\nretention:\n  validation_failures: 0\n";
  add("default", "old3", "4000 days");
  args.insert(args.begin(), {"--config", config});
  r = test::RunWalferry(args);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("removed"), std::string::npos) << r.output;
  EXPECT_EQ(test::Count(t, "SELECT count(*) FROM walferry.validation_failures"), 3);
  std::remove(config.c_str());
}

// Stands in for `walferry cdc` (pending, written by another developer): a writer changes random rows on the source
// and queues each change with the source's WAL position read after its commit; the applier replays the queue on the
// target in batches, writing the checkpoint in the same target transaction as the rows, so the target is always
// exactly at its checkpoint and usually behind the source.
class SimulatedCdc {
 public:
  SimulatedCdc(const std::string& db, int hot_rows) : db_(db), hot_rows_(hot_rows) {
    pg::Connection target = test::ConnectTarget(db_);
    control::ControlSchema control(target, "walferry");
    control.Ensure();
    pg::Connection source = test::ConnectSource(db_);
    Lsn now = Lsn::Parse(source.Exec("SELECT pg_current_wal_insert_lsn()::text").Get(0, 0));
    control::ControlSchema::WriteCheckpoint(target, "walferry", "default", now, "");
    writer_ = std::thread([this] { Write(); });
    applier_ = std::thread([this] { Apply(); });
  }
  ~SimulatedCdc() { Stop(); }

  // Stops the writer, lets the applier drain the queue, and stops it.
  void Stop() {
    writing_ = false;
    if (writer_.joinable()) writer_.join();
    applying_ = false;
    if (applier_.joinable()) applier_.join();
  }
  int64_t changes() const { return changes_; }

 private:
  struct Change {
    int id;
    std::string balance;
    Lsn lsn;
  };

  void Write() {
    pg::Connection source = test::ConnectSource(db_);
    std::mt19937 rng(42);
    while (writing_) {
      int id = 1 + static_cast<int>(rng() % hot_rows_);
      pg::Result r = source.Exec("UPDATE acct SET balance = balance + 1 WHERE id = $1 RETURNING balance::text",
                                 {pg::Param(std::to_string(id))});
      Lsn lsn = Lsn::Parse(source.Exec("SELECT pg_current_wal_insert_lsn()::text").Get(0, 0));
      std::lock_guard lock(mu_);
      queue_.push_back({id, std::string(r.Get(0, 0)), lsn});
      ++changes_;
    }
  }

  void Apply() {
    pg::Connection target = test::ConnectTarget(db_);
    for (;;) {
      std::vector<Change> batch;
      {
        std::lock_guard lock(mu_);
        // Lag behind on purpose: apply only when 40 changes are waiting (or when draining at the end).
        if (queue_.size() >= 40 || (!applying_ && !queue_.empty())) {
          batch.assign(queue_.begin(), queue_.end());
          queue_.clear();
        } else if (!applying_) {
          return;
        }
      }
      if (batch.empty()) {
        std::this_thread::yield();
        continue;
      }
      // One target transaction per batch of source transactions, as CDC groups them, with the checkpoint of the
      // batch's last one.
      target.Exec("BEGIN");
      for (const Change& c : batch) {
        target.Exec("UPDATE acct SET balance = $2::bigint WHERE id = $1::int",
                    {pg::Param(std::to_string(c.id)), pg::Param(c.balance)});
      }
      control::ControlSchema::WriteCheckpoint(target, "walferry", "default", batch.back().lsn, "");
      target.Exec("COMMIT");
    }
  }

  std::string db_;
  int hot_rows_;
  std::atomic<bool> writing_{true};
  std::atomic<bool> applying_{true};
  std::atomic<int64_t> changes_{0};
  std::mutex mu_;
  std::deque<Change> queue_;
  std::thread writer_;
  std::thread applier_;
};

TEST(Validate, WaitsForTheCdcCheckpointAndReportsNoFalseDifferencesUnderALiveWorkload) {
  std::string db = test::FreshDatabase();
  OnBoth(db, "CREATE TABLE acct (id int PRIMARY KEY, balance bigint NOT NULL, owner text)");
  test::Source().Psql(db, "INSERT INTO acct SELECT i, 0, 'owner ' || i FROM generate_series(1, 20000) i");
  CopyTable(db, "acct");
  // One real difference, in a row the workload never touches: it must still be reported.
  test::Target().Psql(db, "UPDATE acct SET owner = 'wrong' WHERE id = 15000");

  SimulatedCdc cdc(db, 2000);
  JsonRun r = Validate(db, {"--range-rows", "500", "--jobs", "2"});
  cdc.Stop();
  ASSERT_TRUE(r.doc.is_object()) << r.output;
  const auto& set = r.doc["sets"][0];
  EXPECT_FALSE(set["applied_lsn"].is_null()) << r.output;
  EXPECT_GE(Lsn::Parse(set["applied_lsn"].get<std::string>()), Lsn::Parse(set["snapshot_lsn"].get<std::string>()));
  std::set<std::pair<std::string, std::string>> want = {{"RECORD_DIFF", "(\"id\")=(15000)"}};
  EXPECT_EQ(Differences(r.doc, "public.acct"), want) << r.output;
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_GT(cdc.changes(), 0);

  test::Target().Psql(db, "UPDATE acct SET owner = 'owner 15000' WHERE id = 15000");
  pg::Connection source = test::ConnectSource(db);
  pg::Connection target = test::ConnectTarget(db);
  EXPECT_EQ(test::DiffTable(source, target, "acct"), "");
}

// A keyless table's re-check that stops at --max-differences lists the differences only up to its last row hash.
// Two rows missing on the target (the two largest hashes) are found by the comparison; before the re-check, more
// extra rows than the cap, all with smaller hashes, appear on the target. The truncated re-check never reaches the
// first two: they stay differences (they used to be dropped as changes in flight, and validate said "equal").
TEST(Validate, ATruncatedRecheckOfAKeylessTableKeepsTheDifferencesItDidNotReach) {
  std::string db = test::FreshDatabase();
  OnBoth(db, "CREATE TABLE bag (v int, w text)");
  test::Source().Psql(db, "INSERT INTO bag SELECT g, 'r' || g FROM generate_series(1, 1000) g");
  CopyTable(db, "bag");
  pg::Connection target = test::ConnectTarget(db);
  // The row hash validate uses for a keyless table (same encodings): md5 of the row's text, in byte order.
  const std::string lowest_missing = test::Text(
      target, "SELECT min(h) FROM (SELECT md5(ROW(v, w)::text) COLLATE \"C\" AS h FROM bag ORDER BY 1 DESC LIMIT 2) d");
  target.Exec("DELETE FROM bag WHERE md5(ROW(v, w)::text) COLLATE \"C\" >= $1", {pg::Param(lowest_missing)});
  ASSERT_EQ(test::Count(target, "SELECT count(*) FROM bag"), 998);
  // A CDC checkpoint far ahead: the set counts as streamed, so its differences are re-checked, without a wait.
  control::ControlSchema control(target, "walferry");
  control.Ensure();
  control::ControlSchema::WriteCheckpoint(target, "walferry", "default", Lsn::Parse("FFFFFFFF/0"), "");

  const std::string gate = (std::filesystem::temp_directory_path() / ("recheck-gate-" + db)).string();
  JsonRun r;
  std::thread validate([&] {
    std::vector<std::string> args = {"--json", "--log-level", "warn", "validate", "--source", test::Source().Uri(db),
                                     "--target", test::Target().Uri(db), "--max-differences", "5"};
    test::CliResult cli = test::RunWalferry(args, {"WALFERRY_VALIDATE_RECHECK_GATE=" + gate});
    size_t at = cli.output.find("{\n  \"equal\"");
    r = {cli.exit_code, at == std::string::npos ? nlohmann::json() : nlohmann::json::parse(cli.output.substr(at)),
         cli.output};
  });
  const bool compared = test::PollUntil([&] { return std::filesystem::exists(gate + ".ready"); },
                                        std::chrono::seconds(60));
  // Ten extra rows, every one hashing below the missing rows.
  target.Exec("INSERT INTO bag SELECT v, w FROM (SELECT 100000 + g AS v, 'x' || g AS w FROM generate_series(1, 1000) g) c "
              "WHERE md5(ROW(v, w)::text) COLLATE \"C\" < $1 LIMIT 10",
              {pg::Param(lowest_missing)});
  std::ofstream(gate) << "go\n";
  validate.join();
  ASSERT_TRUE(compared) << r.output;
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.doc["equal"], false) << r.output;
  EXPECT_EQ(Differences(r.doc, "public.bag").size(), 2u) << r.output;
}

// During CDC, rows not applied yet differ at first look and are re-checked: the log said "5 difference(s)" for a
// table that validate then reported equal. It now says they are to be re-checked, then what the re-check found.
TEST(Validate, RowsInFlightAreLoggedAsToRecheckNotAsDifferences) {
  std::string db = test::FreshDatabase();
  OnBoth(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
  test::Source().Psql(db, "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 100) g");
  CopyTable(db, "t");
  pg::Connection target = test::ConnectTarget(db);
  target.Exec("DELETE FROM t WHERE id <= 5");  // as if CDC had not applied them yet
  control::ControlSchema control(target, "walferry");
  control.Ensure();
  control::ControlSchema::WriteCheckpoint(target, "walferry", "default", Lsn::Parse("FFFFFFFF/0"), "");
  const std::string gate = (std::filesystem::temp_directory_path() / ("inflight-gate-" + db)).string();
  test::CliResult cli;
  std::thread validate([&] {
    cli = test::RunWalferry({"validate", "--source", test::Source().Uri(db), "--target", test::Target().Uri(db)},
                            {"WALFERRY_VALIDATE_RECHECK_GATE=" + gate});
  });
  const bool compared = test::PollUntil([&] { return std::filesystem::exists(gate + ".ready"); },
                                        std::chrono::seconds(60));
  pg::Connection source = test::ConnectSource(db);
  target.Exec("INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 5) g");  // "CDC" applies them now
  std::ofstream(gate) << "go\n";
  validate.join();
  ASSERT_TRUE(compared) << cli.output;
  EXPECT_EQ(cli.exit_code, 0) << cli.output;
  EXPECT_EQ(cli.output.find("5 difference(s) in"), std::string::npos) << cli.output;
  EXPECT_NE(cli.output.find("public.t: 100 source rows, 95 target rows, 5 row(s) to re-check"), std::string::npos)
      << cli.output;
  EXPECT_NE(cli.output.find("public.t: 0 difference(s) after the re-check"), std::string::npos) << cli.output;
  EXPECT_EQ(test::DiffTable(source, target, "t"), "");
  std::filesystem::remove(gate);
  std::filesystem::remove(gate + ".ready");
}

TEST(Validate, FailsWhenTheCdcCheckpointDoesNotPassTheSnapshotInTime) {
  std::string db = test::FreshDatabase();
  OnBoth(db, "CREATE TABLE t (id int PRIMARY KEY)");
  pg::Connection target = test::ConnectTarget(db);
  control::ControlSchema control(target, "walferry");
  control.Ensure();
  control::ControlSchema::WriteCheckpoint(target, "walferry", "default", Lsn(1), "");  // far behind, nobody applies
  JsonRun r = Validate(db, {"--wait-seconds", "1"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("CDC did not apply past source position"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace walferry
