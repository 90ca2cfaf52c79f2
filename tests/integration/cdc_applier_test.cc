// The Applier driven directly against a real target (no source): what a log-and-continue session does with a
// retriable failure, that replaced prepared statements are deallocated on the target, and that a long target
// statement calls the while_waiting hook.
#include <gtest/gtest.h>

#include "cdc/applier.h"
#include "control/control_schema.h"
#include "support/clusters.h"

namespace walferry {
namespace {

using cdc::Applier;
using cdc::ApplierOptions;

struct Target {
  std::string db = test::FreshDatabase();
  std::string set = "direct";

  explicit Target(const std::string& ddl) {
    pg::Connection t = test::ConnectTarget(db);
    t.Exec(ddl);
    control::ControlSchema cs(t, "walferry");
    cs.Ensure();
    cs.UpsertSet({set, "walferry_" + set, "walferry_" + set, "", Lsn(1), control::LoadState::kLoaded});
  }

  Applier Open(ApplierOptions options) const {
    options.set_name = set;
    options.target_conninfo = test::Target().Uri(db);
    return Applier(pg::Connection::Open(test::Target().Uri(db), {.role = "target"}), std::move(options));
  }
};

// public.<name> (id int key, v text), as pgoutput describes it.
cdc::Relation TwoColumns(const std::string& name) {
  cdc::Relation rel;
  rel.relation_id.value = 16400;
  rel.namespace_name = "public";
  rel.name = name;
  rel.columns.push_back({cdc::RelationColumn::kKeyFlag, "id", {23}, -1});
  rel.columns.push_back({0, "v", {25}, -1});
  return rel;
}

// Applies one source transaction inserting (id, v) and commits it as its own group.
void ApplyInsert(Applier& a, const cdc::Relation& rel, uint64_t lsn, const std::string& id, const std::string& v) {
  a.Begin({Lsn(lsn), 0, {static_cast<uint32_t>(lsn)}});
  cdc::Insert ins;
  ins.relation_id = rel.relation_id;
  ins.new_tuple.columns = {{cdc::ColumnKind::kText, id}, {cdc::ColumnKind::kText, v}};
  a.Apply(rel, ins);
  a.EndTransaction({0, Lsn(lsn), Lsn(lsn + 1), 0});
  a.CommitGroup();
}

TEST(ApplierDirect, LogAndContinueRetriesALockTimeoutAndNeverRecordsIt) {
  Target target("CREATE TABLE t (id int PRIMARY KEY, v text)");
  pg::Connection holder = test::ConnectTarget(target.db);
  holder.Exec("BEGIN");
  holder.Exec("LOCK TABLE t IN ACCESS EXCLUSIVE MODE");
  Applier a = target.Open({.error_policy = cdc::ErrorPolicy::kLogAndContinue, .lock_timeout = "100ms"});
  try {
    ApplyInsert(a, TwoColumns("t"), 100, "1", "a");
    ADD_FAILURE() << "the insert waiting for the lock was not reported";
  } catch (const Error& e) {
    EXPECT_EQ(e.sqlstate(), "55P03") << e.what();
    EXPECT_EQ(e.kind(), ErrorKind::kTimeout) << e.what();
  }
  EXPECT_FALSE(a.failed_change().has_value()) << "a retriable failure is not the change's fault";
  holder.Exec("ROLLBACK");
  pg::Connection t = test::ConnectTarget(target.db);
  EXPECT_EQ(t.Exec("SELECT count(*) FROM walferry.apply_exceptions").GetInt(0, 0), 0);
  EXPECT_EQ(t.Exec("SELECT count(*) FROM walferry.checkpoint").GetInt(0, 0), 0) << "nothing committed";
  // The retry (a new Applier, as the worker does) applies the change.
  Applier retry = target.Open({.error_policy = cdc::ErrorPolicy::kLogAndContinue});
  ApplyInsert(retry, TwoColumns("t"), 100, "1", "a");
  EXPECT_EQ(t.Exec("SELECT v FROM t WHERE id = 1").Get(0, 0), "a");
}

TEST(ApplierDirect, StatementsReplacedByANewRelationMessageAreDeallocated) {
  Target target("CREATE TABLE t (id int PRIMARY KEY, v text)");
  for (auto policy : {cdc::ErrorPolicy::kStop, cdc::ErrorPolicy::kLogAndContinue}) {
    Applier a = target.Open({.error_policy = policy});
    cdc::Relation rel = TwoColumns("t");
    pg::Connection t = test::ConnectTarget(target.db);
    t.Exec("TRUNCATE t");
    for (int i = 0; i < 40; ++i) {
      a.OnRelation(rel);  // as after every relation cache invalidation on the source
      ApplyInsert(a, rel, 1000 + 10 * static_cast<uint64_t>(i), std::to_string(i), "v");
    }
    EXPECT_EQ(t.Exec("SELECT count(*) FROM t").GetInt(0, 0), 40);
    // pg_prepared_statements shows the session's own statements: ask the apply session itself.
    pg::Connection& apply = a.connection();
    apply.ExitPipeline();
    EXPECT_EQ(apply.Exec("SELECT count(*) FROM pg_prepared_statements").GetInt(0, 0), 1)
        << "only the statement of the current relation description";
  }
}

TEST(ApplierDirect, ALongTargetStatementCallsWhileWaiting) {
  Target target("CREATE FUNCTION slow_ok() RETURNS boolean LANGUAGE sql AS $$SELECT true FROM pg_sleep(2)$$; "
                "CREATE TABLE slow (id int PRIMARY KEY, v text CHECK (slow_ok()))");
  int calls = 0;
  Applier a = target.Open({.while_waiting = [&](std::chrono::milliseconds) { ++calls; }});
  ApplyInsert(a, TwoColumns("slow"), 100, "1", "a");
  // 2 s of waiting at one call every 500 ms.
  EXPECT_GE(calls, 2);
  EXPECT_EQ(test::ConnectTarget(target.db).Exec("SELECT v FROM slow").Get(0, 0), "a");
}

}  // namespace
}  // namespace walferry
