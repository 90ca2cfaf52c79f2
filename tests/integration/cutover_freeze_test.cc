// walferry cutover: the freeze is proved, not assumed (issue 18). Every way a session can still write during the
// downtime is refused in the preflight (nothing changed, the source writable) unless the operator consents per
// item (--allow-writers); a write that escapes anyway is found in the slots before they are dropped; the waits of
// the downtime end (walferry's own sessions are not waited for, prepared transactions are, Ctrl-C interrupts) and
// nothing found only after the freeze could have been found before it. Each test ends with source and target
// compared (tables, sequences, large objects) or with a refusal that names the cause and leaves the source
// writable.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
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
    "CREATE SEQUENCE tickets START 100; "
    "CREATE TABLE docs (id int PRIMARY KEY, lo oid); "
    "INSERT INTO orders (v) SELECT 'o' || g FROM generate_series(1, 50) g; "
    "SELECT nextval('tickets'); "
    "INSERT INTO docs SELECT g, lo_from_bytea(0, convert_to(repeat('doc' || g, 100), 'UTF8')) "
    "FROM generate_series(1, 3) g";

struct Migration {
  std::string db;
  std::string config;
  std::string set;

  // A loaded set (orders, docs) in a fresh database; `source_uri` replaces the superuser source connection.
  static Migration Loaded(const std::string& set, const std::string& extra_schema = "",
                          const std::string& extra_tables = "") {
    Migration m;
    m.set = set;
    m.db = test::FreshDatabase();
    test::Source().Psql(m.db, std::string(kSchema) + "; " + extra_schema);
    m.config = test::WriteConfig(m.db, "sets:\n  - name: " + set +
                                           "\n    tables:\n      - name: public.orders\n      - name: public.docs\n" +
                                           extra_tables);
    test::CliResult r = test::RunWalferry({"-c", m.config, "load"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return m;
  }

  test::CliResult Cutover(std::vector<std::string> extra, std::vector<std::string> env = {}) const {
    std::vector<std::string> args = {"-c", config, "cutover"};
    args.insert(args.end(), extra.begin(), extra.end());
    return test::RunWalferry(args, env);
  }

  std::string Step() const {
    pg::Connection t = test::ConnectTarget(db);
    return Text(t, "SELECT coalesce((SELECT step FROM walferry.cutover), 'none')");
  }

  // Tables, sequences and large objects compared, source vs target.
  void ExpectEqual(const std::vector<std::string>& more_tables = {}) const {
    pg::Connection s = test::ConnectSource(db);
    pg::Connection t = test::ConnectTarget(db);
    test::SameObjects what{{"public.orders", "public.docs"}, {"orders_id_seq", "tickets"}};
    what.tables.insert(what.tables.end(), more_tables.begin(), more_tables.end());
    test::ExpectSameObjects(s, t, what);
  }

  // A refusal changed nothing: new sessions write, the cutover never began.
  void ExpectUntouched() const {
    pg::Connection fresh = test::ConnectSource(db);
    EXPECT_EQ(Text(fresh, "SHOW default_transaction_read_only"), "off");
    EXPECT_NO_THROW(fresh.Exec("INSERT INTO orders (v) VALUES ('still writable')"));
    EXPECT_EQ(Step(), "none") << "the cutover row was not written";
  }

  void MakeSourceWritable() const {
    pg::Connection s = test::ConnectSource(db);
    test::ResetReadOnly(s, db);
  }

  // After an abort: CDC carries what the source has, then the cutover is tried again.
  void CatchUp() const {
    test::CliResult r = test::RunWalferry({"-c", config, "cdc", "--until-caught-up"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
};

bool Has(const test::CliResult& r, const std::string& what) { return r.output.find(what) != std::string::npos; }

// A fresh log file for a spawned walferry, in the run's temporary directory.
std::string LogPath(const std::string& db, const std::string& what) {
  std::string path = (std::filesystem::temp_directory_path() / ("walferry-" + db + "-" + what + ".log")).string();
  std::filesystem::remove(path);
  return path;
}

// Role settings are cluster-wide: a test's role must not turn the freeze off in the next test's database.
struct ResetRoleAtEnd {
  std::string role;
  ~ResetRoleAtEnd() {
    try {
      test::Source().Psql("postgres", "ALTER ROLE " + pg::QuoteIdent(role) + " RESET ALL");
    } catch (const Error&) {
    }
  }
};

// THE key test of issue 18: a role whose own setting turns the freeze off, writing in a loop through the cutover.
TEST(CutoverFreeze, ARoleThatTurnsTheFreezeOffIsRefusedBeforeTheFreezeAndNeverEndsInADifference) {
  Migration m = Migration::Loaded("frole");
  test::Source().Psql(m.db, "CREATE ROLE frole_app LOGIN PASSWORD 'pw'; "
                            "GRANT ALL ON orders, orders_id_seq TO frole_app; "
                            "ALTER ROLE frole_app SET default_transaction_read_only = off");
  ResetRoleAtEnd reset{"frole_app"};
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    while (!stop) {
      try {  // a new session each time, as a pool would open them: the role's setting applies to each
        pg::Connection w =
            pg::Connection::Open(test::Source().UriAs("frole_app", "pw", m.db), {.application_name = "app"});
        w.Exec("INSERT INTO orders (v) VALUES ('app')");
        ++written;
      } catch (const Error&) {
        // terminated by --terminate-sessions, or read-only: try again
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  ASSERT_TRUE(test::PollUntil([&] { return written.load() > 10; }));
  test::CliResult r = m.Cutover({"--terminate-sessions", "--timeout", "30"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(Has(r, "frole_app") && Has(r, "default_transaction_read_only") && Has(r, "ALTER ROLE") &&
              Has(r, "--allow-writers role:frole_app"))
      << r.output;
  m.ExpectUntouched();

  // With consent, the writes that escape the freeze are found: never exit 0 with a difference.
  r = m.Cutover({"--terminate-sessions", "--timeout", "30", "--allow-writers", "role:frole_app", "--no-validate"});
  std::cerr << "the consented run under the writer ended with exit " << r.exit_code << "\n";
  if (r.exit_code == 0) {
    stop = true;
    writer.join();
    m.ExpectEqual();
  } else {
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_TRUE(Has(r, "committed after the final position") && Has(r, "public.orders") && Has(r, "READ-ONLY"))
        << r.output;
    stop = true;
    writer.join();
    ASSERT_EQ(m.Cutover({"--abort"}).exit_code, 0);
    m.CatchUp();
    r = m.Cutover({"--allow-writers", "role:frole_app"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    m.ExpectEqual();
  }
  m.MakeSourceWritable();
}

// The same escape, made deterministic: a write after the validation, before the slots are dropped.
TEST(CutoverFreeze, AWriteAfterTheFreezeIsFoundInTheSlotBeforeItIsDroppedNamingTheTransaction) {
  Migration m = Migration::Loaded("fpeek");
  test::Source().Psql(m.db, "CREATE ROLE fpeek_app LOGIN PASSWORD 'pw'; "
                            "GRANT ALL ON orders, orders_id_seq TO fpeek_app; "
                            "ALTER ROLE fpeek_app IN DATABASE " + pg::QuoteIdent(m.db) +
                                " SET default_transaction_read_only = off");
  test::CliResult r = m.Cutover({"--writes-stopped"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(Has(r, "fpeek_app") && Has(r, "IN DATABASE")) << r.output;
  m.ExpectUntouched();
  r = m.Cutover({"--writes-stopped", "--allow-writers", "role:fpeek_app"},
                {"WALFERRY_CUTOVER_KILL_AFTER=target_ready"});
  ASSERT_NE(r.exit_code, 0) << r.output;
  ASSERT_EQ(m.Step(), "target_ready");
  std::string xid;
  {
    pg::Connection app =
        pg::Connection::Open(test::Source().UriAs("fpeek_app", "pw", m.db), {.application_name = "app"});
    app.Exec("BEGIN");
    app.Exec("INSERT INTO orders (v) VALUES ('escaped')");
    xid = Text(app, "SELECT txid_current()::text");
    app.Exec("COMMIT");
  }
  r = m.Cutover({"--writes-stopped", "--allow-writers", "role:fpeek_app"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(Has(r, "committed after the final position") && Has(r, "xid " + xid) && Has(r, "public.orders") &&
              Has(r, "READ-ONLY"))
      << r.output;
  pg::Connection src = test::ConnectSource(m.db);
  EXPECT_EQ(Count(src, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'walferry_fpeek'"), 1)
      << "the slot that holds the escaped write is kept";
  // The way on: abort, CDC carries the escaped write, cut over again.
  ASSERT_EQ(m.Cutover({"--abort"}).exit_code, 0);
  m.CatchUp();
  r = m.Cutover({"--writes-stopped", "--allow-writers", "role:fpeek_app"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  m.ExpectEqual();
  EXPECT_EQ(Count(src, "SELECT count(*) FROM orders WHERE v = 'escaped'"), 1);
  m.MakeSourceWritable();
}

// A prepared transaction can be committed in a read-only session and is decoded at its COMMIT PREPARED: refused,
// or (with consent) waited for before the final position is taken.
TEST(CutoverFreeze, APreparedTransactionIsRefusedOrWaitedForBeforeTheFinalPosition) {
  if (Text(test::ConnectSource("postgres"), "SHOW max_prepared_transactions") == "0") {
    test::Source().Psql("postgres", "ALTER SYSTEM SET max_prepared_transactions = 5");
    test::Source().Restart();
  }
  Migration m = Migration::Loaded("fprep");
  pg::Connection p = test::ConnectSource(m.db);
  p.Exec("BEGIN");
  p.Exec("INSERT INTO orders (v) VALUES ('prepared')");
  p.Exec("PREPARE TRANSACTION 'fprep_gid'");
  // Left open by a failing assertion it would hold back every later slot creation of the cluster (the next
  // tests' loads would wait for it).
  struct RollbackAtEnd {
    std::string db;
    ~RollbackAtEnd() {
      try {
        pg::Connection c = test::ConnectSource(db);
        c.Exec("SET default_transaction_read_only = off");
        if (Count(c, "SELECT count(*) FROM pg_prepared_xacts WHERE gid = 'fprep_gid'") > 0) {
          c.Exec("ROLLBACK PREPARED 'fprep_gid'");
        }
      } catch (const Error&) {
      }
    }
  } rollback_at_end{m.db};
  test::CliResult r = m.Cutover({"--writes-stopped"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(Has(r, "fprep_gid") && Has(r, "--allow-writers prepared")) << r.output;
  m.ExpectUntouched();
  // Consent, but it is never committed: the wait ends at --timeout, the source read-only, the gid named.
  r = m.Cutover({"--writes-stopped", "--allow-writers", "prepared", "--timeout", "2"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(Has(r, "fprep_gid") && Has(r, "READ-ONLY")) << r.output;
  ASSERT_EQ(m.Cutover({"--abort"}).exit_code, 0);
  // Consent, and committed while the cutover waits: it is carried.
  const std::string log = LogPath(m.db, "cutover");
  pid_t pid = test::SpawnWalferry({"-c", m.config, "cutover", "--writes-stopped", "--allow-writers", "prepared",
                                   "--timeout", "120"},
                                  false, log);
  ASSERT_TRUE(test::PollUntil([&] { return test::ReadWholeFile(log).find("waiting for 1 prepared transactions") !=
                                           std::string::npos; }))
      << test::ReadWholeFile(log);
  test::ConnectSource(m.db).Exec("COMMIT PREPARED 'fprep_gid'");
  int status = -1;
  ASSERT_TRUE(test::PollUntil([&] { return waitpid(pid, &status, WNOHANG) == pid; }));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << test::ReadWholeFile(log);
  m.ExpectEqual();
  pg::Connection t = test::ConnectTarget(m.db);
  EXPECT_EQ(Count(t, "SELECT count(*) FROM orders WHERE v = 'prepared'"), 1);
  m.MakeSourceWritable();
}

TEST(CutoverFreeze, AConnectedSuperuserApplicationRoleIsRefusedUnlessConsented) {
  Migration m = Migration::Loaded("fsuper");
  test::Source().Psql(m.db, "CREATE ROLE fsuper_boss SUPERUSER LOGIN PASSWORD 'pw'");
  {
    pg::Connection boss =
        pg::Connection::Open(test::Source().UriAs("fsuper_boss", "pw", m.db), {.application_name = "boss app"});
    boss.Exec("SELECT 1");
    test::CliResult r = m.Cutover({"--terminate-sessions"});
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_TRUE(Has(r, "fsuper_boss") && Has(r, "--allow-writers superuser:fsuper_boss")) << r.output;
    m.ExpectUntouched();
    r = m.Cutover({"--terminate-sessions", "--allow-writers", "superuser:fsuper_boss"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  m.ExpectEqual();
  m.MakeSourceWritable();
}

// A `walferry status --watch` (or a cdc of another configuration) is not the application.
TEST(CutoverFreeze, WalferrysOwnSessionsAreNeitherWaitedForNorTerminated) {
  Migration m = Migration::Loaded("fown");
  pg::Connection watch = test::ConnectSource(m.db);
  watch.Exec("SET application_name = 'walferry status'");
  test::CliResult r = m.Cutover({"--timeout", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NO_THROW(watch.Exec("SELECT 1")) << "not terminated";
  m.ExpectEqual();
  m.MakeSourceWritable();
}

// A user who names the sessions in the conninfo (application_name=payroll, which libpq gives precedence over
// walferry's own name): the cutover still knows its own sessions and a cdc running beside it from the
// application's, waits for neither and terminates neither.
TEST(CutoverFreeze, AnApplicationNameInTheConninfoDoesNotHideWalferrysOwnSessions) {
  Migration m = Migration::Loaded("fapp");
  const std::string source = test::Source().Uri(m.db) + "?application_name=payroll";
  const std::string target = test::Target().Uri(m.db) + "?application_name=payroll";
  std::ofstream(m.config) << "version: 1\nsource: \"" << source << "\"\ntarget: \"" << target << "\"\n"
                          << "sets:\n  - name: fapp\n    tables:\n      - name: public.orders\n"
                          << "      - name: public.docs\n";
  test::Source().Psql(m.db, "INSERT INTO orders (v) VALUES ('after the load')");
  test::CliResult r = test::RunWalferry({"-c", m.config, "cdc", "--until-caught-up"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  pg::Connection status = pg::Connection::Open(source, {.role = "source"});  // a walferry session named payroll
  r = m.Cutover({"--timeout", "10"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  m.ExpectEqual();
  m.MakeSourceWritable();
}

TEST(CutoverFreeze, CtrlCWhileWaitingForSessionsExits130SayingInterrupted) {
  Migration m = Migration::Loaded("fint");
  pg::Connection app = test::ConnectSource(m.db);
  app.Exec("SET application_name = 'app'");
  const std::string log = LogPath(m.db, "cutover");
  pid_t pid = test::SpawnWalferry({"-c", m.config, "cutover", "--timeout", "600"}, false, log);
  ASSERT_TRUE(test::PollUntil([&] { return test::ReadWholeFile(log).find("waiting for 1 sessions") !=
                                           std::string::npos; }))
      << test::ReadWholeFile(log);
  std::optional<int> status = test::SignalAndWait(pid, SIGINT, std::chrono::seconds(60));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 130) << test::ReadWholeFile(log);
  std::string out = test::ReadWholeFile(log);
  EXPECT_NE(out.find("interrupted"), std::string::npos) << out;
  EXPECT_EQ(out.find("still there"), std::string::npos) << "not reported as a timeout: " << out;
  EXPECT_NE(out.find("READ-ONLY"), std::string::npos) << out;
  ASSERT_EQ(m.Cutover({"--abort"}).exit_code, 0);
  pg::Connection fresh = test::ConnectSource(m.db);
  EXPECT_EQ(Text(fresh, "SHOW default_transaction_read_only"), "off");
  app.Exec("INSERT INTO orders (v) VALUES ('after the abort')");
  test::CliResult r = m.Cutover({"--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  m.ExpectEqual();
  m.MakeSourceWritable();
}

TEST(CutoverFreeze, ASequenceMissingOnTheTargetIsFoundInThePreflight) {
  Migration m = Migration::Loaded("fseq");
  test::Source().Psql(m.db, "CREATE SEQUENCE late_seq; SELECT nextval('late_seq')");
  test::CliResult r = m.Cutover({"--writes-stopped"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(Has(r, "late_seq")) << r.output;
  m.ExpectUntouched();
  test::Target().Psql(m.db, "CREATE SEQUENCE late_seq");
  r = m.Cutover({"--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  m.ExpectEqual();
  pg::Connection s = test::ConnectSource(m.db);
  pg::Connection t = test::ConnectTarget(m.db);
  EXPECT_EQ(Text(s, "SELECT last_value FROM late_seq"), Text(t, "SELECT last_value FROM late_seq"));
  m.MakeSourceWritable();
}

// Exit 2 says "nothing changed": a precondition failing after the freeze is another exit code, naming the
// read-only source.
TEST(CutoverFreeze, AFailureAfterTheFreezeIsNotExit2AndSaysTheSourceIsReadOnly) {
  Migration m = Migration::Loaded("fexit");
  test::CliResult r = m.Cutover({"--writes-stopped"}, {"WALFERRY_CUTOVER_KILL_AFTER=caught_up"});
  ASSERT_NE(r.exit_code, 0) << r.output;
  test::Target().Psql(m.db, "DROP SEQUENCE tickets");
  r = m.Cutover({"--writes-stopped"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(Has(r, "tickets") && Has(r, "READ-ONLY")) << r.output;
  test::Target().Psql(m.db, "CREATE SEQUENCE tickets START 100");
  r = m.Cutover({"--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  m.ExpectEqual();
  m.MakeSourceWritable();
}

// The slot check runs before the slots are dropped; a rerun after a crash between the drop and `done` finds them
// gone and finishes (the check was made before the drop).
TEST(CutoverFreeze, ARunKilledAfterDroppingTheSlotsFinishesOnRerun) {
  Migration m = Migration::Loaded("fdrop");
  test::CliResult r = m.Cutover({"--writes-stopped"}, {"WALFERRY_CUTOVER_KILL_AFTER=cleanup"});
  ASSERT_NE(r.exit_code, 0) << r.output;
  pg::Connection src = test::ConnectSource(m.db);
  ASSERT_EQ(Count(src, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'walferry_fdrop'"), 0);
  r = m.Cutover({"--writes-stopped"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(m.Step(), "done");
  m.ExpectEqual();
  m.MakeSourceWritable();
}

// Who holds CONNECT on the database, e.g. "fblock_app,postgres".
std::string ConnectHolders(const std::string& db) {
  pg::Connection s = test::ConnectSource(db);
  return Text(s, "SELECT coalesce(string_agg(g, ',' ORDER BY g), '') FROM (SELECT DISTINCT CASE WHEN a.grantee = 0 "
                 "THEN 'PUBLIC' ELSE a.grantee::regrole::text END AS g FROM pg_database d, "
                 "aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a WHERE d.datname = current_database() "
                 "AND a.privilege_type = 'CONNECT') x");
}

bool AppConnects(const std::string& db) {
  try {
    pg::Connection::Open(test::Source().UriAs("fblock_app", "pw", db), {.application_name = "app"});
    return true;
  } catch (const Error&) {
    return false;
  }
}

TEST(CutoverFreeze, BlockConnectionsHoldsOtherRolesOffForTheDowntimeAndGivesBackExactlyWhatWasThere) {
  Migration m = Migration::Loaded("fblock");
  test::Source().Psql(m.db, "CREATE ROLE fblock_app LOGIN PASSWORD 'pw'; REVOKE CONNECT ON DATABASE " +
                                pg::QuoteIdent(m.db) + " FROM PUBLIC; GRANT CONNECT ON DATABASE " +
                                pg::QuoteIdent(m.db) + " TO fblock_app");
  const std::string before = ConnectHolders(m.db);
  ASSERT_NE(before.find("fblock_app"), std::string::npos) << before;
  ASSERT_TRUE(AppConnects(m.db));
  test::CliResult r = m.Cutover({"--writes-stopped", "--block-connections"}, {"WALFERRY_CUTOVER_KILL_AFTER=caught_up"});
  ASSERT_NE(r.exit_code, 0) << r.output;
  EXPECT_FALSE(AppConnects(m.db)) << "blocked during the downtime";
  EXPECT_EQ(ConnectHolders(m.db).find("fblock_app"), std::string::npos);
  // --abort gives back exactly what was there.
  ASSERT_EQ(m.Cutover({"--abort"}).exit_code, 0);
  EXPECT_EQ(ConnectHolders(m.db), before);
  EXPECT_TRUE(AppConnects(m.db));
  // Killed during the freeze and rerun: the same block, then given back at the end.
  r = m.Cutover({"--writes-stopped", "--block-connections"}, {"WALFERRY_CUTOVER_KILL_AFTER=stopping_writes"});
  ASSERT_NE(r.exit_code, 0) << r.output;
  EXPECT_FALSE(AppConnects(m.db));
  r = m.Cutover({"--writes-stopped", "--block-connections"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ConnectHolders(m.db), before);
  EXPECT_TRUE(AppConnects(m.db));
  m.ExpectEqual();
  m.MakeSourceWritable();
}

// A partition created after CDC started gets its TRUNCATE trigger before the freeze (or through the cutover's
// read-write session), not from a worker on the read-only source: that failed every rerun.
TEST(CutoverFreeze, APartitionCreatedAfterCdcStartedDoesNotWedgeTheDowntime) {
  Migration m = Migration::Loaded(
      "fpart", "CREATE TABLE events (id int, k int, PRIMARY KEY (id, k)) PARTITION BY RANGE (k); "
               "CREATE TABLE events_p1 PARTITION OF events FOR VALUES FROM (0) TO (100); "
               "INSERT INTO events SELECT g, g FROM generate_series(1, 50) g",
      "      - name: public.events\n");
  const std::string log = LogPath(m.db, "cdc");
  pid_t cdc = test::SpawnWalferry({"-c", m.config, "cdc"}, false, log);
  pg::Connection src = test::ConnectSource(m.db);
  ASSERT_TRUE(test::PollUntil([&] {
    return Count(src, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'walferry_fpart' AND active") == 1;
  }));
  const char* partition = "CREATE TABLE events_p2 PARTITION OF events FOR VALUES FROM (100) TO (200)";
  test::Target().Psql(m.db, partition);
  src.Exec(partition);
  src.Exec("INSERT INTO events SELECT g, g FROM generate_series(100, 150) g");
  test::CliResult r = m.Cutover({"--terminate-sessions"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  int status = -1;
  if (!test::PollUntil([&] { return waitpid(cdc, &status, WNOHANG) == cdc; }, std::chrono::seconds(60))) {
    ADD_FAILURE() << "walferry cdc did not stop at the final position";
    test::SignalAndWait(cdc, SIGTERM, std::chrono::seconds(30));
  }
  if (r.exit_code != 0) {  // the old behaviour: every rerun fails the same way
    r = m.Cutover({});
    EXPECT_EQ(r.exit_code, 0) << r.output;
  }
  m.ExpectEqual({"public.events"});
  pg::Connection s = test::ConnectSource(m.db);
  EXPECT_EQ(Count(s, "SELECT count(*) FROM events"), 101);
  m.MakeSourceWritable();
}

// ALTER DATABASE needs the database's owner (or a superuser): found before anything changes.
TEST(CutoverFreeze, ARoleThatMayNotFreezeTheDatabaseIsRefusedInThePreflight) {
  Migration m = Migration::Loaded("fpriv");
  test::Source().Psql(m.db, "CREATE ROLE fpriv_walf LOGIN REPLICATION PASSWORD 'pw'; "
                            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO fpriv_walf; "
                            "GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO fpriv_walf");
  std::string yaml = test::ReadWholeFile(m.config);
  const std::string from = test::Source().Uri(m.db);
  ASSERT_NE(yaml.find(from), std::string::npos) << yaml;
  yaml.replace(yaml.find(from), from.size(), test::Source().UriAs("fpriv_walf", "pw", m.db));
  const std::string config = m.config + ".walf.yaml";
  std::ofstream(config) << yaml;
  test::CliResult r = test::RunWalferry({"-c", config, "cutover", "--writes-stopped"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(Has(r, "fpriv_walf") && Has(r, "owner")) << r.output;
  m.ExpectUntouched();
}

// --terminate-sessions obeys --timeout: a session that does not end when terminated (here its backend is stopped
// with SIGSTOP, so it cannot act on the SIGTERM) fails the cutover after --timeout, naming it, with the source
// read-only; once it is gone, a rerun finishes. Before, the terminate loop had no deadline.
TEST(CutoverFreeze, TerminateSessionsGivesUpAfterTheTimeoutWhenASessionDoesNotEnd) {
  Migration m = Migration::Loaded("fstuck");
  pg::Connection app = test::ConnectSource(m.db);
  app.Exec("SET application_name = 'stuck_app'");
  const pid_t backend = static_cast<pid_t>(std::stol(Text(app, "SELECT pg_backend_pid()::text")));
  ASSERT_EQ(kill(backend, SIGSTOP), 0);
  struct Continue {
    pid_t pid;
    ~Continue() { kill(pid, SIGCONT); }
  } resume{backend};
  test::CliResult r = m.Cutover({"--terminate-sessions", "--timeout", "3"});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.exit_code, 2) << "writes were stopped: not 'nothing changed'\n" << r.output;
  EXPECT_TRUE(Has(r, "still there") && Has(r, "stuck_app") && Has(r, "did not end when terminated") &&
              Has(r, "READ-ONLY"))
      << r.output;
  {
    pg::Connection fresh = test::ConnectSource(m.db);
    EXPECT_EQ(Text(fresh, "SHOW default_transaction_read_only"), "on") << "the freeze stays until an abort";
  }
  ASSERT_EQ(kill(backend, SIGCONT), 0);  // it acts on the pending SIGTERM and ends
  pg::Connection watcher = test::ConnectSource(m.db);
  ASSERT_TRUE(test::PollUntil([&] {
    return Count(watcher, "SELECT count(*) FROM pg_stat_activity WHERE pid = " + std::to_string(backend)) == 0;
  }));
  r = m.Cutover({"--terminate-sessions", "--timeout", "30"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  m.ExpectEqual();
  m.MakeSourceWritable();
}

// A non-client backend that holds a transaction id in the database (here a subscription's apply worker, waiting
// on a row lock) started before the freeze and keeps writing through it: the preflight refuses, naming it, and
// changes nothing; without it the cutover finishes and source equals target.
TEST(CutoverFreeze, ABackgroundWorkerWritingInTheDatabaseIsRefusedBeforeTheFreeze) {
  Migration m = Migration::Loaded("fbg");
  const std::string feed = test::FreshDatabase("feed");
  test::Source().Psql(feed, "CREATE TABLE orders (id bigint PRIMARY KEY, v text); "
                            "CREATE PUBLICATION feed_pub FOR TABLE orders; "
                            "SELECT pg_create_logical_replication_slot('fbg_feed', 'pgoutput')");
  test::Source().Psql(m.db, "CREATE SUBSCRIPTION fbg_feed CONNECTION '" + test::Source().Uri(feed) +
                                "' PUBLICATION feed_pub WITH (create_slot = false, slot_name = 'fbg_feed', "
                                "copy_data = false)");
  pg::Connection src = test::ConnectSource(m.db);
  auto worker_with_xid = [&] {
    return Count(src, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                      "backend_type = 'logical replication worker' AND backend_xid IS NOT NULL");
  };
  ASSERT_TRUE(test::PollUntil([&] {
    return Count(src, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                      "backend_type = 'logical replication worker'") == 1;
  })) << "the subscription's apply worker did not start";
  {
    // The apply worker takes an xid for the feed's row, then waits for this uncommitted row with the same key.
    pg::Connection blocker = test::ConnectSource(m.db);
    blocker.Exec("BEGIN");
    blocker.Exec("INSERT INTO orders (id, v) VALUES (1000000, 'blocker')");
    test::Source().Psql(feed, "INSERT INTO orders VALUES (1000000, 'from the feed')");
    ASSERT_TRUE(test::PollUntil([&] { return worker_with_xid() == 1; }))
        << "the apply worker never held a transaction id";
    test::CliResult r = m.Cutover({"--terminate-sessions", "--timeout", "10"});
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_TRUE(Has(r, "logical replication worker") && Has(r, "--allow-writers background")) << r.output;
    EXPECT_EQ(m.Step(), "none");
    blocker.Exec("ROLLBACK");
  }
  ASSERT_TRUE(test::PollUntil([&] { return Count(src, "SELECT count(*) FROM orders WHERE id = 1000000") == 1; }));
  test::Source().Psql(m.db, "DROP SUBSCRIPTION fbg_feed");
  m.ExpectUntouched();
  m.CatchUp();
  test::CliResult r = m.Cutover({"--terminate-sessions", "--timeout", "30"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  m.ExpectEqual();
  pg::Connection t = test::ConnectTarget(m.db);
  EXPECT_EQ(Text(t, "SELECT v FROM orders WHERE id = 1000000"), "from the feed");
  m.MakeSourceWritable();
}

}  // namespace
}  // namespace walferry
