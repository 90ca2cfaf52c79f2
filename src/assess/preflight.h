// assess/preflight.h
//
// Source-wide preflight checks, each PASS / WARN / FAIL with what was found and the fix: wal_level, free
// replication slots and WAL senders, max_slot_wal_keep_size, wal_sender_timeout, long-running and prepared
// transactions, role privileges (REPLICATION, CREATE on the database, SELECT on every selected table), the pgoutput
// plugin allowed by `output_plugin_libraries` (a setting of this Debian build; absent elsewhere), server version and
// the extensions the target needs. Read-only. Needs Assessment::tables filled (for the SELECT check).
#pragma once

#include "assess/assessment.h"
#include "pg/connection.h"

namespace walferry::assess {

// Appends the checks to a.preflight and fills a.server_version, a.role, a.database, a.large_objects,
// a.large_object_bytes and a.extensions. With options.target set, connects to it to see which extensions it offers.
void RunPreflight(pg::Connection& source, const AssessOptions& options, Assessment& a);

// True when `libraries` (the value of output_plugin_libraries; unset or empty means unrestricted) allows pgoutput.
bool PgoutputAllowed(const std::optional<std::string>& libraries);

}  // namespace walferry::assess
