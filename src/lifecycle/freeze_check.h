// lifecycle/freeze_check.h
//
// The cutover's freeze is `ALTER DATABASE <db> SET default_transaction_read_only = on`: a default, not a wall.
// This module lists, before anything changes, every way the source can still be written during the downtime that
// walferry can see, so that the cutover refuses with the fix instead of discovering the writes afterwards:
//   role:NAME       a login role whose own setting (ALTER ROLE ... [IN DATABASE ...] SET default_transaction_read_only
//                   = off) overrides the database's: its new sessions write through the freeze.
//   prepared        prepared transactions of the database: COMMIT PREPARED works in a read-only session, and the
//                   slots decode such a transaction at its commit; with consent the cutover waits for them to end
//                   before it takes the final position (at most --timeout).
//   background      non-client backends (background workers) of the database holding a transaction id: they
//                   started before the freeze and are not among the client sessions the cutover waits for.
//   superuser:NAME  a connected client session of a superuser role other than walferry's own: it can make the
//                   database writable again, and a role that is not a superuser cannot end it.
// Each Leak carries the consent token (`--allow-writers TOKEN`) and the fix. Privileges (CheckFreezePrivileges)
// are not consentable: without them the cutover would fail after writes stopped.
// What it cannot see: a session that runs `SET default_transaction_read_only = off` or `BEGIN READ WRITE` itself,
// or connects with `options=-c default_transaction_read_only=off`. Those are caught afterwards by the slot check
// (lifecycle/slot_peek.h), which fails the cutover with the source still read-only.
// Read-only on the source. Not thread-safe per Connection.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "pg/connection.h"

namespace walferry::lifecycle {

struct FreezeLeak {
  std::string consent;  // the --allow-writers token: "role:app", "prepared", "background", "superuser:boss"
  std::string what;     // what can still write, named
  std::string fix;      // what the operator does instead of consenting
};

// Every leak of the source database (`source` is connected to it). Pure reads.
std::vector<FreezeLeak> FindFreezeLeaks(pg::Connection& source);

// Whether `token` is a well-formed --allow-writers value; the message says what is accepted otherwise.
// Throws Error(kUsage).
void CheckConsentToken(const std::string& token);

// Throws Error(kPrecondition) naming every leak not consented to (the message lists each with its fix and its
// --allow-writers token). `command` is how the message names the command ("walferry cutover").
void RefuseUnconsentedLeaks(const std::vector<FreezeLeak>& leaks, const std::set<std::string>& consent,
                            const std::string& server, const std::string& command);

struct FreezeNeeds {
  bool terminate_sessions = false;  // --terminate-sessions: ending other roles' sessions
  bool see_sessions = true;         // waiting for the sessions from before the freeze (not with --writes-stopped)
};

// Throws Error(kPrecondition) naming each privilege walferry's role lacks for the freeze: ALTER DATABASE (the
// database's owner or a superuser), pg_signal_backend (with terminate_sessions), pg_read_all_stats (to see other
// roles' sessions), REPLICATION (to read a slot without consuming it).
void CheckFreezePrivileges(pg::Connection& source, const FreezeNeeds& needs, const std::string& server);

// The prepared transactions of the source database, one line each ("gid 'x' (xid 123, prepared 2026-..., by
// app)"); empty when there are none.
std::vector<std::string> PreparedTransactions(pg::Connection& source);

}  // namespace walferry::lifecycle
