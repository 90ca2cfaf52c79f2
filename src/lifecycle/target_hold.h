// lifecycle/target_hold.h
//
// The target held read-only while `walferry cutover --fallback` switches. The reverse slot (lifecycle/fallback.h)
// holds the target's changes from its consistent point on, and it is made at fallback_ready, after the final
// validation: a write of the application on the target before that point would be in no slot, and a switch back
// would lose it. So from stopping_writes until the slot exists the target database is read-only for every session
// but walferry's:
//   HoldTargetReadOnly  records the hold in <control>.target_hold FIRST, then ALTER DATABASE <target> SET
//                       default_transaction_read_only = on (new sessions; the application is not meant to be
//                       connected to the target before the switch);
//   ForWalferry         the conninfo walferry's own target sessions use while held (the catch-up, the sequences,
//                       large objects, validation repairs, ANALYZE, the slot): default_transaction_read_only = off;
//   ReleaseTarget       once the slot exists, and at cutover --abort: RESET, then the record deleted. Only a hold
//                       walferry recorded is released: a target the operator made read-only stays so.
// Idempotent, so that reruns and aborts after a kill at any point leave the target right. Not thread-safe.
#pragma once

#include <string>

#include "pg/connection.h"

namespace walferry::lifecycle {

// `conninfo` with default_transaction_read_only = off for the sessions opened with it.
std::string ForWalferry(const std::string& conninfo);

// Whether a hold of the database `target` is connected to is recorded in `control_schema` (false when the control
// schema has no such table yet).
bool TargetHeld(pg::Connection& target, const std::string& control_schema);
// The same, connecting to `target_conninfo`.
bool TargetHeld(const std::string& target_conninfo, const std::string& control_schema);

// The hold recorded, then the target database made read-only for new sessions. `target` must be a walferry
// session that may write (ForWalferry, or SET default_transaction_read_only = off).
void HoldTargetReadOnly(pg::Connection& target, const std::string& control_schema);

// A recorded hold ended: the database's default_transaction_read_only RESET, the record deleted. Returns whether
// there was one. Sets default_transaction_read_only = off in `target`'s session.
bool ReleaseTarget(pg::Connection& target, const std::string& control_schema);

}  // namespace walferry::lifecycle
