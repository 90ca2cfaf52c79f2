// validate/snapshot.h
//
// The consistent point of a comparison. Every validation connection gets the same output settings
// (src/sql/validate/session.sql) so a row prints identically on both servers. On the source one connection opens a
// REPEATABLE READ READ ONLY transaction and exports its snapshot together with the WAL insert position read just
// after the snapshot was taken; the other workers import it, so all ranges are read from one source state. While
// CDC runs, WaitForCheckpoint waits until the set's applier has committed past that position on the target.
// Functions only; each takes the connection it uses (one thread per connection).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/lsn.h"
#include "control/control_schema.h"
#include "pg/connection.h"

namespace walferry::validate {

// Runs session.sql on `conn` (DateStyle, IntervalStyle, extra_float_digits, TimeZone, bytea_output, lc_monetary).
void PrepareSession(pg::Connection& conn);

struct SourceSnapshot {
  std::string name;  // for SET TRANSACTION SNAPSHOT; valid while the exporting transaction stays open
  Lsn lsn;           // every commit the snapshot sees lies before this position
};

// BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY and export the snapshot. The transaction stays open: end it
// with EndSnapshot once every worker has finished.
SourceSnapshot BeginExportedSnapshot(pg::Connection& source);
// BEGIN ... and SET TRANSACTION SNAPSHOT: `source` then reads exactly what the exporter reads.
void ImportSnapshot(pg::Connection& source, const std::string& snapshot_name);
// COMMIT of the read-only transaction.
void EndSnapshot(pg::Connection& source);

// Polls the set's checkpoint on the target (every 100 ms) until applied_lsn >= lsn, or until the set's slot on the
// source is confirmed past lsn (a running CDC worker confirms past its checkpoint only when nothing of the set
// before that position is left to apply); returns the applied position.
// Throws Error(kTimeout) after `timeout`, naming both positions and what to check. nullopt when the set has no
// checkpoint at all (no CDC has applied anything for it): there is nothing to wait for.
std::optional<Lsn> WaitForCheckpoint(control::ControlSchema& control, const std::string& source_conninfo,
                                     const std::string& set_name, Lsn lsn, std::chrono::milliseconds timeout);

}  // namespace walferry::validate
