#include "load/snapshot_locks.h"

#include "common/error.h"
#include "common/log.h"
#include "load/table_copy.h"
#include "sql/sql.h"

namespace walferry::load {

namespace {

// Who holds or waits for an ACCESS EXCLUSIVE lock on `table`, for people; asked on a connection of its own.
std::string ExclusiveLockers(const std::string& source_conninfo, const pg::TableName& table) {
  std::string out;
  try {
    pg::Connection probe = pg::Connection::Open(source_conninfo, {.role = "source"});
    pg::Result r = probe.Exec(sql::Get("load/lock_waiters"), {pg::Param(table.Quoted())});
    for (int i = 0; i < r.rows(); ++i) {
      out += std::string(out.empty() ? "" : "; ") + "pid " + std::string(r.Get(i, 0)) + " (user " +
             std::string(r.Get(i, 1)) + ", application '" + std::string(r.Get(i, 2)) + "', client " +
             std::string(r.Get(i, 3)) + ", " + (r.GetBool(i, 5) ? "holding" : "waiting for") +
             " the lock, running: " + std::string(r.Get(i, 4)) + ")";
    }
  } catch (const Error&) {
    // the caller's error still names the table
  }
  return out;
}

}  // namespace

SnapshotLocks::SnapshotLocks(const std::string& source_conninfo, const std::string& snapshot,
                             const std::vector<pg::TableName>& tables, std::chrono::seconds lock_timeout)
    : conn_(pg::Connection::Open(source_conninfo,
                                 {.role = "source", .application_name = "walferry load (snapshot locks)"})) {
  ImportSnapshot(conn_, snapshot);
  conn_.Exec("SET LOCAL lock_timeout = " + pg::QuoteLiteral(std::to_string(lock_timeout.count()) + "s"));
  for (const pg::TableName& t : tables) {
    try {
      conn_.Exec("LOCK TABLE " + t.Quoted() + " IN ACCESS SHARE MODE");
    } catch (const Error& e) {
      if (e.sqlstate() != "55P03") throw;  // lock_not_available: the timeout
      std::string lockers = ExclusiveLockers(source_conninfo, t);
      throw Error(ErrorKind::kPrecondition, "table " + t.Display() + " is locked on the source" +
                                                (lockers.empty() ? "" : " by " + lockers) + "; waited " +
                                                std::to_string(lock_timeout.count()) + " s")
          .WithDetail("walferry load holds ACCESS SHARE on every table of the set while it copies, as pg_dump "
                      "does, so a table rewrite cannot slip between the snapshot and the copy")
          .WithHint("let that session finish (or end it), then run walferry load again");
    }
  }
  log::For("load")->debug("holding ACCESS SHARE on {} tables for the copy", tables.size());
}

SnapshotLocks::~SnapshotLocks() {
  try {
    if (conn_.IsOk()) conn_.Exec("COMMIT");
  } catch (const Error&) {
    // the connection's end releases the locks as well
  }
}

void LockForCopy(pg::Connection& source, const pg::TableName& table) {
  try {
    source.Exec("LOCK TABLE " + table.Quoted() + " IN ACCESS SHARE MODE NOWAIT");
  } catch (const Error& e) {
    if (e.sqlstate() != "55P03") throw;
    std::string lockers = ExclusiveLockers(source.conninfo(), table);
    throw Error(ErrorKind::kPrecondition, "another session wants to rewrite or alter " + table.Display() +
                                              " on the source while walferry copies it" +
                                              (lockers.empty() ? "" : ": " + lockers))
        .WithDetail("walferry holds the set's tables as of its snapshot, so that session waits; the copy cannot "
                    "queue behind it, so the load stops here and releases the tables (nothing partial is kept: "
                    "each table's copy is one target transaction)")
        .WithHint("let that statement run (or cancel it), then start the set's load over: walferry load "
                  "--target-prep truncate");
  }
}

}  // namespace walferry::load
