// The libpq layer against real servers: connection failures, hostile identifiers, binary COPY between servers,
// and a logical slot whose exported snapshot a second connection imports.
#include <gtest/gtest.h>

#include "common/error.h"
#include "pg/copy_stream.h"
#include "pg/quote.h"
#include "pg/replication_stream.h"
#include "support/clusters.h"

namespace walferry {
namespace {

using test::ConnectSource;
using test::ConnectTarget;
using test::FreshDatabase;
using test::Source;

Error ConnectError(const std::string& conninfo) {
  try {
    pg::Connection::Open(conninfo, {.role = "source"});
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "connection unexpectedly succeeded";
  return Error(ErrorKind::kInternal, "none");
}

TEST(Connection, WrongPortFailsClearlyWithoutPassword) {
  int unused = localcluster::FreePort();
  Error e = ConnectError("host=127.0.0.1 port=" + std::to_string(unused) + " user=app password=Sup3rS3cret dbname=x");
  std::string msg = e.what();
  EXPECT_EQ(e.kind(), ErrorKind::kConnection);
  EXPECT_NE(msg.find("connecting to source"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Connection refused"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("Sup3rS3cret"), std::string::npos) << msg;
  EXPECT_NE(msg.find("password=********"), std::string::npos) << msg;
}

TEST(Connection, WrongPasswordFailsClearlyWithoutPassword) {
  std::string db = FreshDatabase();
  Source().Psql(db, "CREATE ROLE app LOGIN PASSWORD 'RightPassw0rd'");
  pg::Connection ok = pg::Connection::Open(Source().UriAs("app", "RightPassw0rd", db));
  EXPECT_TRUE(ok.IsOk());
  std::string uri = "postgresql://app:Wr0ngPassw0rd@127.0.0.1:" + std::to_string(Source().port()) + "/" + db;
  Error e = ConnectError(uri);
  std::string msg = e.what();
  EXPECT_NE(msg.find("password authentication failed for user \"app\""), std::string::npos) << msg;
  EXPECT_EQ(msg.find("Wr0ngPassw0rd"), std::string::npos) << msg;
  EXPECT_NE(msg.find("app:********@"), std::string::npos) << msg;
  Source().Psql(db, "DROP ROLE app");
}

TEST(Connection, MissingDatabaseIsNamed) {
  Error e = ConnectError(Source().Uri("no_such_db"));
  EXPECT_NE(std::string(e.what()).find("database \"no_such_db\" does not exist"), std::string::npos) << e.what();
}

TEST(Connection, SqlErrorsCarrySqlstateDetailAndContext) {
  std::string db = FreshDatabase();
  pg::Connection c = ConnectSource(db);
  c.Exec("CREATE TABLE t (id int PRIMARY KEY)");
  c.Exec("INSERT INTO t VALUES ($1)", {pg::Param("1")});
  try {
    c.Exec("INSERT INTO t VALUES ($1)", {pg::Param("1")});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kSql);
    EXPECT_EQ(e.sqlstate(), "23505");
    EXPECT_EQ(e.detail(), "Key (id)=(1) already exists.");
    EXPECT_NE(std::string(e.what()).find("source: INSERT INTO t"), std::string::npos) << e.what();
  }
}

TEST(Connection, ValuesArePassedAsParametersNeverSpliced) {
  std::string db = FreshDatabase();
  pg::Connection c = ConnectSource(db);
  c.Exec("CREATE TABLE t (v text)");
  const std::string hostile = "'); DROP TABLE t; --";
  c.Exec("INSERT INTO t VALUES ($1)", {pg::Param(hostile)});
  c.Exec("INSERT INTO t VALUES ($1)", {pg::Param()});
  pg::Result r = c.Exec("SELECT v FROM t ORDER BY v NULLS LAST");
  ASSERT_EQ(r.rows(), 2);
  EXPECT_EQ(r.Get(0, 0), hostile);
  EXPECT_TRUE(r.IsNull(1, 0));
}

TEST(Quoting, HostileIdentifiersRoundTripThroughRealTables) {
  std::string db = FreshDatabase();
  pg::Connection c = ConnectSource(db);
  const std::vector<pg::TableName> tables = {
      {"Sales Dept", "Order\"Items"}, {"ünïcødé", "Tåble ☃"}, {"public", "with space"}, {"s.dot", "t.dot"}};
  const std::string column = "Mixed \"Case\" Col";
  for (const auto& t : tables) {
    c.Exec("CREATE SCHEMA IF NOT EXISTS " + pg::QuoteIdent(t.schema));
    c.Exec("CREATE TABLE " + t.Quoted() + " (" + pg::QuoteIdent(column) + " text)");
    c.Exec("INSERT INTO " + t.Quoted() + " VALUES ($1)", {pg::Param(t.Display())});
  }
  // The catalog holds exactly the names we meant, and each table answers with its own row.
  for (const auto& t : tables) {
    pg::Result r = c.Exec("SELECT count(*) FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace "
                          "WHERE n.nspname = $1 AND k.relname = $2",
                          {pg::Param(t.schema), pg::Param(t.name)});
    EXPECT_EQ(r.GetInt(0, 0), 1) << t.Display();
    pg::Result v = c.Exec("SELECT " + pg::QuoteIdent(column) + " FROM " + t.Quoted());
    ASSERT_EQ(v.rows(), 1);
    EXPECT_EQ(v.Get(0, 0), t.Display());
    EXPECT_EQ(pg::TableName::Parse(t.Display()), t);
  }
}

// Common types, 100k rows, streamed source -> target in binary COPY format inside this process.
TEST(CopyStream, BinaryCopyOf100kRowsArrivesEqual) {
  std::string db = FreshDatabase();
  pg::Connection src = ConnectSource(db);
  pg::Connection dst = ConnectTarget(db);
  const std::string ddl =
      "CREATE TABLE \"Mixed\".\"Common Types\" (id bigint PRIMARY KEY, i2 smallint, i4 int, n numeric, "
      "f4 real, f8 double precision, b boolean, t text, vc varchar(20), ch char(3), ba bytea, d date, "
      "ts timestamp, tz timestamptz, iv interval, u uuid, j json, jb jsonb, ia int[], ta text[], ip inet, "
      "tm time, mo money)";
  for (auto* c : {&src, &dst}) {
    c->Exec("CREATE SCHEMA \"Mixed\"");
    c->Exec(ddl);
  }
  src.Exec(R"sql(
    INSERT INTO "Mixed"."Common Types"
    SELECT g, (g % 32000)::smallint, g * 7, CASE WHEN g % 97 = 0 THEN 'NaN'::numeric ELSE g / 7.0 END,
           g / 3.0, CASE WHEN g % 101 = 0 THEN 'Infinity'::float8 WHEN g % 103 = 0 THEN '-0'::float8 ELSE g * 1.5 END,
           g % 2 = 0, CASE WHEN g % 10 = 0 THEN NULL WHEN g % 11 = 0 THEN '' ELSE 'row ' || g || ' ☃ ''q'' \ ' END,
           'vc' || g, 'c' || (g % 10), decode(md5(g::text), 'hex'), date '2000-01-01' + g,
           CASE WHEN g % 89 = 0 THEN 'infinity'::timestamp ELSE timestamp '1999-12-31 23:59:59.123456' + g * interval '1 minute' END,
           timestamptz '2020-02-29 12:00:00+05' + g * interval '1 second', g * interval '1 day 3 hours',
           md5(g::text)::uuid, json_build_object('g', g), jsonb_build_object('g', g, 'a', ARRAY[g, NULL]),
           ARRAY[g, NULL, -g], ARRAY['a"b', NULL, 'c,d'], ('10.0.' || (g % 256) || '.1/24')::inet,
           time '00:00:01' + g * interval '1 millisecond', (g / 100.0)::money
    FROM generate_series(1, 100000) g)sql");
  int64_t bytes = 0;
  int64_t rows = pg::CopyBetween(src, "COPY \"Mixed\".\"Common Types\" TO STDOUT (FORMAT binary)", dst,
                                 "COPY \"Mixed\".\"Common Types\" FROM STDIN (FORMAT binary)", &bytes);
  EXPECT_EQ(rows, 100000);
  EXPECT_GT(bytes, 100000);
  EXPECT_EQ(test::DiffTable(src, dst, "\"Mixed\".\"Common Types\""), "");
}

TEST(CopyStream, FailedCopyInLeavesTargetEmptyAndConnectionUsable) {
  std::string db = FreshDatabase();
  pg::Connection src = ConnectSource(db);
  pg::Connection dst = ConnectTarget(db);
  src.Exec("CREATE TABLE t (id int)");
  src.Exec("INSERT INTO t SELECT g FROM generate_series(1, 1000) g");
  dst.Exec("CREATE TABLE t (id int CHECK (id < 500))");
  EXPECT_THROW(pg::CopyBetween(src, "COPY t TO STDOUT", dst, "COPY t FROM STDIN"), Error);
  EXPECT_EQ(dst.Exec("SELECT count(*) FROM t").GetInt(0, 0), 0);
  EXPECT_EQ(src.Exec("SELECT count(*) FROM t").GetInt(0, 0), 1000);
}

TEST(Pipeline, QueuedPreparedStatementsReturnResultsInOrder) {
  std::string db = FreshDatabase();
  pg::Connection c = ConnectTarget(db);
  c.Exec("CREATE TABLE t (id int PRIMARY KEY, v text)");
  c.Prepare("ins", "INSERT INTO t VALUES ($1, $2)", 2);
  c.EnterPipeline();
  for (int i = 0; i < 1000; ++i) {
    std::vector<pg::Param> p = {std::to_string(i), "v" + std::to_string(i)};
    c.SendPrepared("ins", p);
  }
  c.PipelineSync();
  int results = 0;
  while (true) {
    pg::Result r = c.NextPipelineResult();
    if (c.IsSync(r)) break;
    if (r) ++results;
  }
  c.ExitPipeline();
  EXPECT_EQ(results, 1000);
  EXPECT_EQ(c.Exec("SELECT count(*), sum(id) FROM t").GetInt(0, 1), 499500);
}

TEST(ReplicationConnection, ExportedSnapshotIsImportedByASecondConnection) {
  std::string db = FreshDatabase();
  pg::Connection writer = ConnectSource(db);
  writer.Exec("CREATE TABLE t (id int PRIMARY KEY)");
  writer.Exec("INSERT INTO t SELECT g FROM generate_series(1, 100) g");
  writer.Exec("CREATE PUBLICATION pub FOR TABLE t");

  pg::ReplicationConnection repl = pg::ReplicationConnection::Open(Source().Uri(db));
  pg::SystemIdentity id = repl.IdentifySystem();
  EXPECT_EQ(id.dbname, db);
  EXPECT_TRUE(id.xlog_pos.valid());
  pg::CreatedSlot slot = repl.CreateLogicalSlot("wf_test_slot", pg::SnapshotAction::kExport);
  EXPECT_EQ(slot.plugin, "pgoutput");
  ASSERT_FALSE(slot.snapshot_name.empty());
  EXPECT_GE(slot.consistent_point, id.xlog_pos);

  // Rows written after the slot exist only in the stream, not in the snapshot.
  writer.Exec("INSERT INTO t SELECT g FROM generate_series(101, 150) g");
  pg::Connection reader = ConnectSource(db);
  reader.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ");
  reader.Exec("SET TRANSACTION SNAPSHOT " + pg::QuoteLiteral(slot.snapshot_name));
  EXPECT_EQ(reader.Exec("SELECT count(*) FROM t").GetInt(0, 0), 100);
  reader.Exec("COMMIT");
  EXPECT_EQ(writer.Exec("SELECT count(*) FROM t").GetInt(0, 0), 150);

  // The stream starts at the consistent point and carries the 50 later inserts in one transaction.
  repl.StartLogical("wf_test_slot", slot.consistent_point, {{"proto_version", "1"}, {"publication_names", "pub"}});
  int inserts = 0, commits = 0;
  Lsn last_end;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (commits < 1 && std::chrono::steady_clock::now() < deadline) {
    auto msg = repl.Read(std::chrono::milliseconds(500));
    if (!msg) continue;
    if (auto* x = std::get_if<pg::XLogData>(&*msg)) {
      ASSERT_FALSE(x->payload.empty());
      if (x->payload[0] == 'I') ++inserts;
      if (x->payload[0] == 'C') ++commits;
      last_end = x->wal_end;
    } else if (auto* k = std::get_if<pg::Keepalive>(&*msg)) {
      if (k->reply_requested) repl.SendStatus(last_end, last_end, last_end);
    }
  }
  EXPECT_EQ(inserts, 50);
  EXPECT_EQ(commits, 1);
  repl.SendStatus(last_end, last_end, last_end);
  repl.EndStream();
  repl.DropSlot("wf_test_slot");
  EXPECT_EQ(writer.Exec("SELECT count(*) FROM pg_replication_slots").GetInt(0, 0), 0);
}

}  // namespace
}  // namespace walferry
