// cdc/failure_class.h
//
// Which failures CDC retries, which end it at once, and which a change is charged with (docs/cdc.md "Failures"
// and "Error policies"). Pure: reads an Error's kind, SQLSTATE and text; no I/O.
//
//   kTransient            retried (the session again, from the slot) for cdc.retry_for: a connection lost or
//                         refused for the moment, the server going away or starting (57P*, 08*), too busy (53*),
//                         serialization failure, deadlock, lock or statement timeout (40001, 40P01, 55P03, 57014),
//                         an object in use (55006), and a target that turned read-only or is in recovery during a
//                         failover (25006; 55000 "recovery is in progress"): it is writable again once promoted.
//   kPermanentConnection  the server refused the connection for a reason no retry changes: authentication failed
//                         (28P01; 28000: no pg_hba.conf entry, pg_hba.conf rejects, the role does not exist or may
//                         not log in), the database does not exist (3D000), no CONNECT right, or no password at
//                         all. libpq reports no SQLSTATE for a failed connection attempt: recognised by the
//                         server's (English) message; a message in another language is retried like a transient
//                         failure, as before.
//   kChange               the change's own fault: a data exception (22*), an integrity violation (23*),
//                         walferry's own check that an UPDATE/DELETE matched exactly one row (ErrorKind::kData, no
//                         SQLSTATE), and a TRUNCATE the target refuses because a foreign key references the table
//                         (0A000 on a TRUNCATE). Only these are skipped by log-and-continue or suspend a table under
//                         suspend-table.
//   kOther                everything else (a missing table or column, a permission, an internal error): the set
//                         fails at once under every policy, nothing skipped, suspended or retried.
#pragma once

#include <string_view>

#include "common/error.h"

namespace walferry::cdc {

enum class FailureClass { kTransient, kPermanentConnection, kChange, kOther };

// `statement`: the SQL of the change that failed, when one did (empty otherwise).
FailureClass ClassifyFailure(const Error& e, std::string_view statement = {});

// The SQLSTATE part of kTransient; `message` tells 55000 "recovery is in progress" from the other 55000s.
bool TransientSqlState(std::string_view sqlstate, std::string_view message);

}  // namespace walferry::cdc
