// lifecycle/block_connections.h
//
// `walferry cutover --block-connections`: for the downtime, no role but walferry's may open a new session on the
// source database. The roles that hold CONNECT (PUBLIC included) lose it; walferry's own role is granted CONNECT
// when it held it only through PUBLIC. What was revoked is recorded in the control schema on the target BEFORE
// anything is revoked (<control>.blocked_connect, src/sql/lifecycle/blocked_connect_table.sql), so a rerun
// re-applies the same block and RestoreConnections (at `done`, and by --abort) gives back exactly those grants.
// Limits: superusers ignore CONNECT; sessions already open are not ended (the cutover ends or waits for those);
// a grant's WITH GRANT OPTION and grantor are not kept (CONNECT itself is), and a database that had the default
// ACL gets the equivalent explicit one. The session `source` must be read-write (GRANT is refused in a read-only
// transaction). Not thread-safe per Connection.
#pragma once

#include <string>
#include <vector>

#include "pg/connection.h"

namespace walferry::lifecycle {

// Records (unless a record for this database exists already: a rerun) and revokes. Returns the roles blocked.
std::vector<std::string> BlockConnections(pg::Connection& source, pg::Connection& target,
                                          const std::string& control_schema);

// Gives back what the record says and deletes it; nothing when there is no record. A role dropped since is
// skipped with a warning. Returns the roles given CONNECT back.
std::vector<std::string> RestoreConnections(pg::Connection& source, pg::Connection& target,
                                            const std::string& control_schema);

}  // namespace walferry::lifecycle
