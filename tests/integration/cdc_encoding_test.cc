// CDC from a LATIN1 source database to a UTF8 target: every character arrives exactly (the replication connection
// asks the walsender for UTF8, the apply session reads UTF8), and money values keep their amounts (both sides
// format and parse money under lc_monetary 'C').
#include <fstream>

#include "cdc_support.h"

namespace walferry {
namespace {

using cdctest::CdcFixture;

// Like CdcFixture::Create, but the source database is LATIN1 (the target one stays UTF8).
CdcFixture CreateLatin1Source(const std::string& set, const std::string& ddl, const std::string& table) {
  CdcFixture f;
  f.db = test::FreshDatabase();
  f.set = set;
  f.tables = {table};
  test::Source().Psql("postgres", "DROP DATABASE " + f.db);
  test::Source().Psql("postgres", "CREATE DATABASE " + f.db +
                                      " ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'");
  test::Source().Psql(f.db, ddl);
  test::Target().Psql(f.db, ddl);
  test::Source().Psql(f.db, "CREATE PUBLICATION walferry_" + set + " FOR TABLE " + table +
                                " WITH (publish_via_partition_root = true)");
  auto repl = pg::ReplicationConnection::Open(test::Source().Uri(f.db));
  pg::CreatedSlot slot = repl.CreateLogicalSlot("walferry_" + set, pg::SnapshotAction::kNoExport);
  pg::Connection t = test::ConnectTarget(f.db);
  control::ControlSchema cs(t, "walferry");
  cs.Ensure();
  cs.UpsertSet({set, "walferry_" + set, "walferry_" + set, "", slot.consistent_point, control::LoadState::kLoaded});
  f.config_path = "/tmp/walferry-" + f.db + ".yaml";
  std::ofstream y(f.config_path);
  y << "version: 1\nsource: \"" << test::Source().Uri(f.db) << "\"\ntarget: \"" << test::Target().Uri(f.db)
    << "\"\nsets:\n  - name: " << set << "\n    apply: transactional\n    tables:\n      - name: '" << table
    << "'\n";
  return f;
}

TEST(CdcEncoding, Latin1SourceCarriesEveryCharacterAndMoneyToAUtf8Target) {
  CdcFixture f = CreateLatin1Source("latin", "CREATE TABLE t (id int PRIMARY KEY, v text, m money)", "public.t");
  pg::Connection src = test::ConnectSource(f.db);
  src.Exec("SET client_encoding = 'UTF8'");  // this test's literals are UTF8
  EXPECT_EQ(src.Exec("SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()")
                .Get(0, 0),
            "LATIN1");
  src.Exec("INSERT INTO t VALUES (1, 'é ß ÿ ¤ ½ À', '1234.56'), (2, "
           "(SELECT string_agg(chr(c), '' ORDER BY c) FROM generate_series(160, 255) c), '-0.01')");
  src.Exec("UPDATE t SET v = v || ' ü', m = m + '1000000' WHERE id = 1");
  test::CliResult r = f.Cdc();
  f.DropSlot();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // (Not f.ExpectEqual(): its source connection would read LATIN1 bytes; this one reads UTF8 like the target.)
  pg::Connection t = test::ConnectTarget(f.db);
  EXPECT_EQ(test::DiffTable(src, t, "public.t"), "");
  EXPECT_EQ(t.Exec("SELECT v FROM t WHERE id = 1").Get(0, 0), "é ß ÿ ¤ ½ À ü");
  EXPECT_EQ(t.Exec("SELECT length(v) FROM t WHERE id = 2").GetInt(0, 0), 96);
  EXPECT_EQ(t.Exec("SELECT m::numeric::text FROM t ORDER BY id").Get(0, 0), "1001234.56");
}

// The whole path from a LATIN1 source database to a UTF8 target: walferry load, walferry cdc, walferry validate.
// Validate hashes each row's text as UTF8 on both servers (each would otherwise hash its own encoding's bytes and
// report every non-ASCII row as different), finds the one row the test changes on the target, and --repair writes
// the source's characters exactly.
TEST(CdcEncoding, Latin1SourceLoadCdcAndValidateAgreeWithAUtf8Target) {
  std::string db = test::FreshDatabase();
  test::Source().Psql("postgres", "DROP DATABASE " + db);
  test::Source().Psql("postgres", "CREATE DATABASE " + db +
                                      " ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'");
  pg::Connection src = test::ConnectSource(db);
  src.Exec("SET client_encoding = 'UTF8'");  // this test's literals are UTF8
  src.Exec("CREATE TABLE t (k text PRIMARY KEY, v text, n int); CREATE TABLE log (v text)");  // log: no key
  src.Exec("ALTER TABLE log REPLICA IDENTITY FULL");
  src.Exec("INSERT INTO t SELECT 'k' || chr(160 + g % 96) || g, repeat(chr(160 + g % 96), g % 7), g "
           "FROM generate_series(1, 3000) g");
  src.Exec("INSERT INTO log SELECT 'é ß ÿ ' || g FROM generate_series(1, 200) g");
  std::vector<std::string> where = {"--source", test::Source().Uri(db), "--target", test::Target().Uri(db)};
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.end(), where.begin(), where.end());
    return test::RunWalferry(args);
  };
  test::CliResult r = run({"load"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  src.Exec("UPDATE t SET v = v || 'ü½' WHERE n % 10 = 0; DELETE FROM t WHERE n % 97 = 0; "
           "INSERT INTO t VALUES ('ÀÉÎ', 'ÿ', -1); INSERT INTO log VALUES ('¤ À')");
  // CDC runs through the validations, as in a migration (validate waits until it has applied its snapshot).
  std::vector<std::string> cdc = {"cdc"};
  cdc.insert(cdc.end(), where.begin(), where.end());
  pid_t cdc_pid = test::SpawnWalferry(cdc);
  ASSERT_GT(cdc_pid, 0);
  pg::Connection t = test::ConnectTarget(db);
  // Until CDC has applied its first transaction there is no checkpoint, and validate compares the target as it is.
  ASSERT_TRUE(test::PollUntil([&] { return test::Count(t, "SELECT count(*) FROM walferry.checkpoint") > 0; }));

  r = run({"--json", "validate"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"equal\": true"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("hashed as UTF8"), std::string::npos) << r.output;

  t.Exec("UPDATE t SET v = 'ü½ but not quite' WHERE k = 'ÀÉÎ'");
  r = run({"--json", "validate"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(R"x("key": "(\"k\")=(ÀÉÎ)")x"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"equal\": false"), std::string::npos) << r.output;
  // --repair with the set's CDC stopped (it is refused while CDC reads the slot).
  EXPECT_EQ(WEXITSTATUS(cdctest::TerminateAndWait(cdc_pid)), 0);
  r = run({"validate", "--repair"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(t.Exec("SELECT v FROM t WHERE k = 'ÀÉÎ'").Get(0, 0), "ÿ");
  EXPECT_EQ(test::DiffTable(src, t, "public.t"), "");
  EXPECT_EQ(test::DiffTable(src, t, "public.log"), "");
  test::Source().Psql("postgres", "SELECT pg_drop_replication_slot('walferry_default')");
}

}  // namespace
}  // namespace walferry
