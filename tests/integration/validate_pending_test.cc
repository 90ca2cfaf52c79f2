// validate with the set's CDC stopped: it may call the target consistent only when no change of the set committed
// at or after the checkpoint waits in the slot. The checkpoint is a transaction's END LSN, and the commit record of
// the next transaction can start exactly there (its rows were written before the first one committed): counted
// with `> checkpoint`, that transaction was missed and validate compared one transaction early, reporting a
// difference that CDC was about to apply. Ends with source equal to target.
#include <gtest/gtest.h>

#include <string>

#include "support/clusters.h"

namespace walferry {
namespace {

using test::Count;
using test::Text;

// The last two commits the set's slot holds: their commit LSNs and end LSNs (pgoutput protocol 1, Commit: type,
// flags, commit LSN, end LSN, time), in commit order.
const char* kCommits =
    "WITH c AS (SELECT ('0/0'::pg_lsn + ('x' || encode(substr(data, 3, 8), 'hex'))::bit(64)::bigint) AS commit_lsn, "
    "                  ('0/0'::pg_lsn + ('x' || encode(substr(data, 11, 8), 'hex'))::bit(64)::bigint) AS end_lsn "
    "           FROM pg_logical_slot_peek_binary_changes('walferry_s', NULL, NULL, 'proto_version', '1', "
    "                                                    'publication_names', 'walferry_s') "
    "           WHERE get_byte(data, 0) = 67) "
    "SELECT ";

TEST(ValidatePending, ATransactionWhoseCommitStartsAtTheCheckpointIsPending) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, "CREATE TABLE t (id int PRIMARY KEY, v text); "
                          "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 100) g");
  std::string config = test::WriteConfig(db, "sets:\n  - name: s\n    apply: transactional\n    tables:\n"
                                             "      - name: public.t\n");
  test::CliResult r = test::RunWalferry({"-c", config, "load"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  pg::Connection a = test::ConnectSource(db);
  pg::Connection b = test::ConnectSource(db);
  // Decoding reads only flushed WAL; the test clusters run with synchronous_commit = off.
  a.Exec("SET synchronous_commit = on");
  b.Exec("SET synchronous_commit = on");
  // T2 writes its row, T1 writes and commits, T2 commits: T2's commit record follows T1's directly, unless some
  // other WAL record (a running-xacts record of the background writer) fell between them; then again.
  std::string next_commit;
  for (int attempt = 0; attempt < 20 && next_commit.empty(); ++attempt) {
    const std::string id = std::to_string(1000 + 2 * attempt);
    a.Exec("BEGIN");
    a.Exec("INSERT INTO t VALUES (" + id + ", 'T2')");
    b.Exec("INSERT INTO t VALUES (" + id + " + 1, 'T1')");
    a.Exec("COMMIT");
    pg::Result last = b.Exec(std::string(kCommits) +
                             "(SELECT end_lsn FROM c ORDER BY commit_lsn DESC OFFSET 1 LIMIT 1)::text, "
                             "(SELECT commit_lsn FROM c ORDER BY commit_lsn DESC LIMIT 1)::text");
    if (last.Get(0, 0) == last.Get(0, 1)) next_commit = std::string(last.Get(0, 1));
  }
  ASSERT_FALSE(next_commit.empty()) << "no two adjacent commits in 20 attempts";
  // CDC applies everything before T2 and stops: the checkpoint is T1's end, where T2's commit starts.
  r = test::RunWalferry({"-c", config, "cdc", "--until-lsn", next_commit});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  pg::Connection t = test::ConnectTarget(db);
  ASSERT_EQ(Text(t, "SELECT applied_lsn::text FROM walferry.checkpoint WHERE set_name = 's'"), next_commit);
  ASSERT_EQ(Count(t, "SELECT count(*) FROM t") + 1, Count(b, "SELECT count(*) FROM t")) << "T2 is not applied";

  // validate must wait for T2 (nobody applies it: it times out saying so), not compare without it.
  r = test::RunWalferry({"-c", config, "validate", "--wait-seconds", "3"});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("1 change(s) of the set committed after the checkpoint wait in it"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("the target is consistent with"), std::string::npos) << r.output;

  r = test::RunWalferry({"-c", config, "cdc", "--until-caught-up"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::RunWalferry({"-c", config, "validate", "--wait-seconds", "30"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(test::DiffTable(b, t, "t"), "");
  b.Exec("SELECT pg_drop_replication_slot('walferry_s')");
}

}  // namespace
}  // namespace walferry
