// cdc/failure_class.h: which failures are retried, which end CDC at once (exit 2), and which a change is charged
// with (the only ones log-and-continue skips and suspend-table suspends a table for).
#include "cdc/failure_class.h"

#include <gtest/gtest.h>

namespace walferry::cdc {
namespace {

Error Sql(const std::string& sqlstate, const std::string& message = "boom") {
  return Error(ErrorKind::kSql, message).WithSqlState(sqlstate);
}

Error Refused(const std::string& libpq_message) {
  Error e(ErrorKind::kConnection, libpq_message);
  e.AddContext("connecting to target (host=127.0.0.1 dbname=app)");
  return e;
}

TEST(FailureClass, RefusedLoginsArePermanent) {
  for (const char* m : {
           "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication failed for "
           "user \"app\"",
           "FATAL:  database \"app_missing\" does not exist",
           "FATAL:  role \"nobody\" does not exist",
           "FATAL:  no pg_hba.conf entry for host \"10.0.0.1\", user \"app\", database \"app\", no encryption",
           "FATAL:  pg_hba.conf rejects connection for host \"10.0.0.1\", user \"app\", database \"app\"",
           "FATAL:  role \"app\" is not permitted to log in",
           "FATAL:  permission denied for database \"app\"",
           "FATAL:  Peer authentication failed for user \"app\"",
           "fe_sendauth: no password supplied",
       }) {
    EXPECT_EQ(ClassifyFailure(Refused(m)), FailureClass::kPermanentConnection) << m;
  }
  EXPECT_EQ(ClassifyFailure(Sql("28P01")), FailureClass::kPermanentConnection);
  EXPECT_EQ(ClassifyFailure(Sql("3D000")), FailureClass::kPermanentConnection);
}

TEST(FailureClass, ConnectionsLostOrRefusedForTheMomentAreRetried) {
  for (const char* m : {
           "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused",
           "FATAL:  the database system is starting up",
           "FATAL:  the database system is in recovery mode",
           "FATAL:  sorry, too many clients already",
           "server closed the connection unexpectedly",
           "FATAL:  terminating connection due to administrator command",
       }) {
    EXPECT_EQ(ClassifyFailure(Refused(m)), FailureClass::kTransient) << m;
  }
  // A broken connection's SQLSTATE decides, never its text.
  Error broken(ErrorKind::kConnection, "relation \"role \"x\" does not exist");
  broken.WithSqlState("57P01");
  EXPECT_EQ(ClassifyFailure(broken), FailureClass::kTransient);
  EXPECT_EQ(ClassifyFailure(Error(ErrorKind::kTimeout, "lock timeout").WithSqlState("55P03")),
            FailureClass::kTransient);
}

TEST(FailureClass, AReadOnlyOrRecoveringTargetIsRetried) {
  EXPECT_EQ(ClassifyFailure(Sql("25006", "cannot execute INSERT in a read-only transaction")),
            FailureClass::kTransient);
  EXPECT_EQ(ClassifyFailure(Sql("55000", "recovery is in progress")), FailureClass::kTransient);
  EXPECT_EQ(ClassifyFailure(Sql("55000", "logical decoding requires wal_level >= logical")), FailureClass::kOther);
  for (const char* s : {"40001", "40P01", "55P03", "57014", "57P01", "57P03", "08006", "53100", "53300", "55006"}) {
    EXPECT_EQ(ClassifyFailure(Sql(s)), FailureClass::kTransient) << s;
  }
}

TEST(FailureClass, OnlyDataAndIntegrityFailuresAreTheChangesOwn) {
  for (const char* s : {"23505", "23503", "23514", "23502", "22001", "22P02", "22003"}) {
    EXPECT_EQ(ClassifyFailure(Sql(s), "INSERT INTO t VALUES ($1)"), FailureClass::kChange) << s;
  }
  EXPECT_EQ(ClassifyFailure(Error(ErrorKind::kData, "0 target rows matched the change's replica identity")),
            FailureClass::kChange);
  EXPECT_EQ(ClassifyFailure(Sql("0A000", "cannot truncate a table referenced in a foreign key constraint"),
                            "TRUNCATE ONLY \"public\".\"u\""),
            FailureClass::kChange);
  EXPECT_EQ(ClassifyFailure(Sql("0A000", "cannot truncate a table referenced in a foreign key constraint"),
                            "INSERT INTO t VALUES ($1)"),
            FailureClass::kOther);
  // Not the data's: a failing disk, a missing table or column, a permission, a trigger's own exception.
  for (const char* s : {"58030", "XX000", "42P01", "42703", "42501", "P0001"}) {
    EXPECT_EQ(ClassifyFailure(Sql(s), "INSERT INTO t VALUES ($1)"), FailureClass::kOther) << s;
  }
}

}  // namespace
}  // namespace walferry::cdc
