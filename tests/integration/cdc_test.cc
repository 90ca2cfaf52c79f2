// walferry cdc against real clusters: a randomized workload of every kind of change, a 500k-row transaction with
// bounded memory, and a target that rejects a change. Each ends by proving source and target equal.
#include <sys/resource.h>
#include <sys/wait.h>

#include <filesystem>

#include "cdc_support.h"
#include "pg/quote.h"

namespace walferry {
namespace {

using cdctest::CdcFixture;

const char* kSchema = R"sql(
CREATE SCHEMA "Mixed Case";
CREATE TABLE "Mixed Case"."Items" (
  id int PRIMARY KEY, "Val" text, uniq int UNIQUE, big text, n numeric, ts timestamptz, d date, j jsonb, js json,
  arr int[], b bytea, f float8, flag boolean, iv interval, u uuid,
  gen int GENERATED ALWAYS AS (id * 2) STORED);
ALTER TABLE "Mixed Case"."Items" ALTER COLUMN big SET STORAGE EXTERNAL;
CREATE TABLE dups (a int, b text, j json);
ALTER TABLE dups REPLICA IDENTITY FULL;
CREATE TABLE parted (id int, region int, v text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE parted_0 PARTITION OF parted FOR VALUES IN (0);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES IN (1);
CREATE TABLE ident (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);
)sql";

const std::vector<std::string> kTables = {"\"Mixed Case\".\"Items\"", "public.dups", "public.parted",
                                          "public.ident"};

std::string Big(std::mt19937& rng) {
  return std::string(3000 + rng() % 5000, static_cast<char>('a' + rng() % 26)) + std::to_string(rng());
}

// One random source transaction; rolls back about one in ten.
void RandomTransaction(pg::Connection& c, std::mt19937& rng) {
  auto P = [](auto v) { return pg::Param(std::to_string(v)); };
  c.Exec("BEGIN");
  int ops = 1 + rng() % 8;
  for (int i = 0; i < ops; ++i) {
    int id = rng() % 200;
    switch (rng() % 12) {
      case 0:
      case 1:
        c.Exec("INSERT INTO \"Mixed Case\".\"Items\" (id, \"Val\", uniq, big, n, ts, d, j, js, arr, b, f, flag, iv, u) "
               "VALUES ($1, $2, $1 + 100000, $3, $4, now(), current_date, $5, $6, ARRAY[$1, NULL, 3], "
               "decode('00ff10', 'hex'), $7, $1 % 2 = 0, '1 day 02:03:04.5', gen_random_uuid()) "
               "ON CONFLICT DO NOTHING",
               {P(id), pg::Param("v'al \"" + std::to_string(rng())), pg::Param(Big(rng)),
                pg::Param("12345678901234567890.0123456789"), pg::Param("{\"k\": [1, 2.50, \"x\"]}"),
                pg::Param("{ \"spaces\" :  1 }"), pg::Param("0.1")});
        break;
      case 2:  // TOAST-unchanged update: big is not touched
        c.Exec("UPDATE \"Mixed Case\".\"Items\" SET \"Val\" = $2, f = f + 1 WHERE id = $1",
               {P(id), pg::Param(std::to_string(rng()))});
        break;
      case 3:  // primary key change
        c.Exec("UPDATE \"Mixed Case\".\"Items\" SET id = id + 1000 WHERE id = $1 AND NOT EXISTS "
               "(SELECT 1 FROM \"Mixed Case\".\"Items\" WHERE id = $1 + 1000)", {P(id)});
        break;
      case 4: {  // unique swap in the order that works
        pg::Result r = c.Exec("SELECT id, uniq FROM \"Mixed Case\".\"Items\" ORDER BY random() LIMIT 2");
        if (r.rows() == 2) {
          c.Exec("UPDATE \"Mixed Case\".\"Items\" SET uniq = -1 WHERE id = $1", {pg::Param(std::string(r.Get(0, 0)))});
          c.Exec("UPDATE \"Mixed Case\".\"Items\" SET uniq = $2 WHERE id = $1",
                 {pg::Param(std::string(r.Get(1, 0))), pg::Param(std::string(r.Get(0, 1)))});
          c.Exec("UPDATE \"Mixed Case\".\"Items\" SET uniq = $2 WHERE id = $1",
                 {pg::Param(std::string(r.Get(0, 0))), pg::Param(std::string(r.Get(1, 1)))});
        }
        break;
      }
      case 5:
        c.Exec("DELETE FROM \"Mixed Case\".\"Items\" WHERE id = $1", {P(id)});
        break;
      case 6:  // identical duplicates under REPLICA IDENTITY FULL
        c.Exec("INSERT INTO dups SELECT $1, 'dup', '{\"a\":1}' FROM generate_series(1, 3)", {P(id % 5)});
        c.Exec("DELETE FROM dups WHERE ctid = (SELECT ctid FROM dups WHERE a = $1 LIMIT 1)", {P(id % 5)});
        c.Exec("UPDATE dups SET b = 'changed' WHERE ctid = (SELECT ctid FROM dups WHERE a = $1 LIMIT 1)",
               {P(id % 5)});
        break;
      case 7:  // partition moves
        c.Exec("INSERT INTO parted VALUES ($1, 0, 'p') ON CONFLICT DO NOTHING", {P(id)});
        c.Exec("UPDATE parted SET region = 1 - region, v = v || 'm' WHERE id = $1 AND NOT EXISTS "
               "(SELECT 1 FROM parted p2 WHERE p2.id = $1 AND p2.region <> parted.region)", {P(id)});
        break;
      case 8:
        c.Exec("INSERT INTO ident (v) VALUES ($1)", {P(rng())});
        c.Exec("DELETE FROM ident WHERE id = (SELECT min(id) FROM ident) AND (SELECT count(*) FROM ident) > 20");
        break;
      case 9:  // savepoint rolled back
        c.Exec("SAVEPOINT s");
        c.Exec("INSERT INTO ident (v) VALUES ('rolled back')");
        c.Exec("ROLLBACK TO SAVEPOINT s");
        break;
      case 10:
        if (rng() % 10 == 0) c.Exec("TRUNCATE dups");
        break;
      default:
        c.Exec("UPDATE \"Mixed Case\".\"Items\" SET big = $2 WHERE id = $1", {P(id), pg::Param(Big(rng))});
    }
  }
  c.Exec(rng() % 10 == 0 ? "ROLLBACK" : "COMMIT");
}

TEST(Cdc, RandomizedWorkloadArrivesExactlyOnce) {
  CdcFixture f = CdcFixture::Create("rand", kSchema, kTables);
  pg::Connection src = test::ConnectSource(f.db);
  std::mt19937 rng(12345);
  for (int i = 0; i < 300; ++i) RandomTransaction(src, rng);
  auto r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  f.ExpectEqual();
  pg::Connection tgt = test::ConnectTarget(f.db);
  EXPECT_GT(tgt.Exec("SELECT count(*) FROM \"Mixed Case\".\"Items\"").GetInt(0, 0), 50);
  EXPECT_GT(tgt.Exec("SELECT count(*) FROM parted_1").GetInt(0, 0), 0);
  // A second round continues from the checkpoint: nothing applied twice (a duplicate insert would fail).
  for (int i = 0; i < 200; ++i) RandomTransaction(src, rng);
  src.Exec("ALTER TABLE ident ADD COLUMN extra text DEFAULT 'x'");
  test::Target().Psql(f.db, "ALTER TABLE ident ADD COLUMN extra text DEFAULT 'x'");
  src.Exec("INSERT INTO ident (v, extra) VALUES ('after add column', 'y')");
  r = f.Cdc();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  f.ExpectEqual();
  auto st = test::RunWalferry({"-c", f.config_path, "--json", "status"});
  EXPECT_EQ(st.exit_code, 0) << st.output;
  EXPECT_NE(st.output.find("not running (last: CAUGHT UP)"), std::string::npos) << st.output;
  f.DropSlot();
}

TEST(Cdc, HalfMillionRowTransactionStreamsWithBoundedMemory) {
  CdcFixture f = CdcFixture::Create("big", "CREATE TABLE t (id int PRIMARY KEY, v text)", {"public.t"});
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("INSERT INTO t SELECT g, repeat('x', 100) || g FROM generate_series(1, 500000) g");
  src.Exec("UPDATE t SET v = v || 'u' WHERE id % 3 = 0");
  // The bound is on walferry's own memory: measured on walferry built without sanitizers (tests/CMakeLists.txt,
  // WALFERRY_UNSANITIZED_BINARY; the ASan+UBSan executable is ~250 MB resident before it does anything).
  const std::string log = (std::filesystem::temp_directory_path() / "cdc_big.log").string();
  pid_t pid = test::SpawnWalferryBinary(WALFERRY_UNSANITIZED_BINARY,
                                        {"-c", f.config_path, "cdc", "--until-caught-up"}, false, log);
  int status = 0;
  rusage ru{};
  ASSERT_EQ(wait4(pid, &status, 0, &ru), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << test::ReadWholeFile(log);
  std::cerr << "peak RSS of " << WALFERRY_UNSANITIZED_BINARY << ", KB: " << ru.ru_maxrss << "\n";
  EXPECT_GT(ru.ru_maxrss, 0);
  EXPECT_LT(ru.ru_maxrss, 256 * 1024) << "peak RSS of walferry in KB";
  f.ExpectEqual();
  f.DropSlot();
}

TEST(Cdc, TargetRejectingAChangeFailsWithTheStatement) {
  CdcFixture f = CdcFixture::Create("reject", "CREATE TABLE t (id int PRIMARY KEY, v int)", {"public.t"},
                                    "ALTER TABLE t ADD CONSTRAINT only_small CHECK (v < 100)");
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("INSERT INTO t VALUES (1, 5)");
  src.Exec("INSERT INTO t VALUES (2, 500)");
  src.Exec("INSERT INTO t VALUES (3, 7)");
  auto r = f.Cdc();
  EXPECT_EQ(r.exit_code, 1) << r.output;
  pg::Connection t = test::ConnectTarget(f.db);
  pg::Result st = t.Exec("SELECT task_status, last_error FROM walferry.status WHERE task_name = 'reject'");
  ASSERT_EQ(st.rows(), 1);
  EXPECT_EQ(st.Get(0, 0), "FAILED");
  EXPECT_NE(std::string(st.Get(0, 1)).find("only_small"), std::string::npos) << st.Get(0, 1);
  pg::Result ex = t.Exec("SELECT table_owner, table_name, statement, error FROM walferry.apply_exceptions");
  ASSERT_EQ(ex.rows(), 1);
  EXPECT_EQ(ex.Get(0, 1), "t");
  EXPECT_NE(std::string(ex.Get(0, 2)).find("INSERT INTO \"public\".\"t\""), std::string::npos) << ex.Get(0, 2);
  EXPECT_NE(std::string(ex.Get(0, 2)).find("$2='500'"), std::string::npos) << ex.Get(0, 2);
  // The first transaction is applied, the rejected one and everything after it are not.
  EXPECT_EQ(t.Exec("SELECT count(*) FROM t").GetInt(0, 0), 1);
  // Fix the target; a rerun resumes at the rejected transaction and catches up.
  t.Exec("ALTER TABLE t DROP CONSTRAINT only_small");
  f.CatchUpExpectEqualAndDropSlot();
}

}  // namespace
}  // namespace walferry
