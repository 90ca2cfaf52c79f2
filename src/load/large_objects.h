// load/large_objects.h
//
// Copies the source database's large objects (pg_largeobject) to the target with their OIDs, so that oid columns
// referring to them stay valid: for each large object of the load's snapshot, lo_create(oid) then lo_put of its
// contents in 1 MB chunks, all in ONE target transaction (all-or-nothing). A large object with the same OID already
// on the target is replaced (lo_unlink first), which makes a redone copy idempotent; the count is logged.
// Ownership and ACLs are not carried (as for tables: --no-owner --no-privileges): the loading role owns them.
// Large objects are database-wide, not part of a replication set, and logical replication does not carry their
// later changes: they are copied once per run, as of the first set's snapshot.
// Not thread-safe; opens its own connections.
#pragma once

#include <cstdint>
#include <string>

#include "pg/connection.h"

namespace walferry::load {

// Copies the contents of large object `oid` from source to target (where it exists, created and empty) in 1 MB
// chunks; returns its size. Hex keeps the bytes exact in text parameters.
int64_t CopyContents(pg::Connection& source, pg::Connection& target, const std::string& oid);

struct LargeObjectResult {
  int64_t count = 0;
  int64_t bytes = 0;
  int64_t replaced = 0;  // already on the target with the same OID
  double seconds = 0;
};

// Reads inside `snapshot` (an exported snapshot still alive) on the source. Throws a runtime Error with context
// (the large object's OID) on failure; the target transaction is rolled back then.
LargeObjectResult CopyLargeObjects(const std::string& source, const std::string& target, const std::string& snapshot);

}  // namespace walferry::load
