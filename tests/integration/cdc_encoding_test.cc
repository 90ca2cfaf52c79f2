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

}  // namespace
}  // namespace walferry
