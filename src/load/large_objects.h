// load/large_objects.h
//
// Copies the source database's large objects (pg_largeobject) to the target with their OIDs, so that oid columns
// referring to them stay valid: for each large object of the load's snapshot, lo_create(oid) then lo_put of its
// contents in 1 MB chunks, all in ONE target transaction (all-or-nothing), each OID recorded in the control
// schema's copied_large_objects in the same transaction (control/copied_large_objects.h).
// Only the migration's own large objects are ever replaced or unlinked: those recorded there. A large object with
// the same OID already on the target that the record does not name (another application's or another migration's)
// is an error naming it before anything is copied, never overwritten; a recorded one is replaced (lo_unlink
// first), which makes a redone copy idempotent; the count is logged.
// SyncLargeObjects is the cutover's step (and the switch back's), under the same rule.
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

// Reads inside `snapshot` (an exported snapshot still alive) on the source; records in `control_schema` on the
// target. Throws Error(kData) naming the target's large objects that collide with the source's and are not the
// migration's (nothing copied), a runtime Error with context (the large object's OID) on any other failure; the
// target transaction is rolled back then.
LargeObjectResult CopyLargeObjects(const std::string& source, const std::string& target, const std::string& snapshot,
                                   const std::string& control_schema);

struct LargeObjectSync {
  int64_t on_source = 0;
  int64_t copied = 0;    // created or replaced on the target
  int64_t unlinked = 0;  // the migration's, gone from the source
  int64_t kept = 0;      // on the target only, and not the migration's: left alone
};

// The cutover's step: the target's large objects made equal to the source's by OID, content (md5) and owner, in
// one target transaction, for the migration's large objects only. The migration's on the target: those recorded
// in `control_schema` on the target, or on the source (the switch back: the forward copies, which came from the
// old source). Missing or changed ones are copied and recorded, ones the source no longer has are unlinked if they
// are the migration's (kept otherwise), owners set as on the source (the role must exist). Large objects another
// migration recorded as copied into the source (control/copied_large_objects.h) are not carried. A source large object
// whose OID the target holds and that is not the migration's: Error(kData) naming it, nothing changed. `source_name`
// and `target_name` name the two sides in messages ("source", "old source", ...).
LargeObjectSync SyncLargeObjects(pg::Connection& source, pg::Connection& target, const std::string& control_schema,
                                 const std::string& source_name, const std::string& target_name);

}  // namespace walferry::load
