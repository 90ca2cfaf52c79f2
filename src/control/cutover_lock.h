// control/cutover_lock.h
//
// The migration's lock: one session-level advisory lock on the migration's TARGET database that serialises the
// commands that change which side is the primary or drop what the other relies on: walferry cutover (and its
// --abort), restart, reset and fallback --switch-back (and its --abort). Each takes it without waiting at its start
// and holds it for the command's duration on one of its own sessions there; a second command is refused
// (Error kPrecondition, exit 2, nothing changed) naming the holder's backend pid, application, client and start
// time. The lock ends with its session, so a killed process never leaves it behind. Loads of one set are
// serialised by control/set_lock.h (another key of the same class).
// Not thread-safe per Connection.
#pragma once

#include <string>

#include "pg/connection.h"

namespace walferry::control {

// Takes the lock for the session of `conn` (connected to the migration's target database) or throws.
// `command`: what asks ("walferry cutover --abort"), for the message.
void TakeMigrationLock(pg::Connection& conn, const std::string& command);

}  // namespace walferry::control
