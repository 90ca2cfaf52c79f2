// load/snapshot_locks.h
//
// pg_dump's rule for a consistent copy: every table is locked ACCESS SHARE in a transaction of the copy's snapshot
// before the first COPY, and held until the last one ends. A rewrite that is not MVCC-safe (ALTER TABLE ... TYPE,
// a repack's table swap) committed after the snapshot would otherwise make a later COPY see an empty table, and its
// rows would never come through CDC either (they were written before the slot's start). With the locks held, such
// a rewrite waits for the copy. Each lock waits at most `lock_timeout`; a table another session holds in a
// conflicting mode is an Error(kPrecondition) naming that session (pid, user, application, client, its query).
// A rewrite that asks for its ACCESS EXCLUSIVE lock meanwhile waits for these locks, and a new ACCESS SHARE request
// would queue behind it (PostgreSQL serves lock requests in order): so each copy worker locks its table with NOWAIT
// right before its COPY (LockForCopy) and the load stops, naming the waiting session, instead of hanging.
// Owns one source connection (the transaction); RAII: the locks go with the object (COMMIT, or the connection's
// end). Not thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "pg/connection.h"
#include "pg/quote.h"

namespace walferry::load {

class SnapshotLocks {
 public:
  // `tables`: the relations to lock (a partitioned root or an inheritance parent locks its children too).
  SnapshotLocks(const std::string& source_conninfo, const std::string& snapshot,
                const std::vector<pg::TableName>& tables, std::chrono::seconds lock_timeout);
  ~SnapshotLocks();
  SnapshotLocks(const SnapshotLocks&) = delete;
  SnapshotLocks& operator=(const SnapshotLocks&) = delete;

 private:
  pg::Connection conn_;
};

// In a copy worker's snapshot transaction, right before the table's COPY: ACCESS SHARE NOWAIT (the SnapshotLocks
// already hold it, so only a queued rewrite refuses it). Throws Error(kPrecondition) naming that session.
void LockForCopy(pg::Connection& source, const pg::TableName& table);

}  // namespace walferry::load
