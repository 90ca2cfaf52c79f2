// control/copied_large_objects.h
//
// Which large objects are the migration's: the record <control>.copied_large_objects of the OIDs walferry copied
// INTO a database (the load and the cutover into the target, the switch back into the old source), written in the
// same transaction as each copy (src/sql/control/copied_large_objects_table.sql). A database can hold large objects
// of other applications or migrations; walferry replaces, unlinks and compares only the migration's
// (load/large_objects.h, validate/database_objects.h). Read and written on the caller's connections.
#pragma once

#include <set>
#include <string>

#include "pg/connection.h"

namespace walferry::control {

// The OIDs `db` records as copied into it under this control schema (empty when it has no record).
std::set<std::string> CopiedLargeObjects(pg::Connection& db, const std::string& control_schema);

// The migration's large objects on the target of a copy from `source` to `target`: what either side's record
// names (the switch back's target holds the forward copies' originals, recorded on the forward target).
std::set<std::string> MigrationLargeObjects(pg::Connection& source, pg::Connection& target,
                                            const std::string& control_schema);

// The large objects other migrations (other control schemas) recorded as copied into `db` and this one's record
// does not name: on the switch back, the target holds such large objects of another source, which are not carried
// to this migration's old source (two sources into one target database).
std::set<std::string> OtherMigrationsLargeObjects(pg::Connection& db, const std::string& control_schema);

// The record created if missing (idempotent; inside the caller's transaction if it has one).
void EnsureCopiedLargeObjects(pg::Connection& db, const std::string& control_schema);
// `oid` recorded as copied into `db` / no longer there.
void RememberCopiedLargeObject(pg::Connection& db, const std::string& control_schema, const std::string& oid);
void ForgetCopiedLargeObject(pg::Connection& db, const std::string& control_schema, const std::string& oid);

}  // namespace walferry::control
