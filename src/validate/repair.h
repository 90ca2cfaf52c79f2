// validate/repair.h
//
// `walferry validate --repair`: rewrites the differing rows on the target from the source's CURRENT rows, in one
// target transaction per table (all or nothing). For a keyed table each key is made to match the source: updated
// when both sides have it (an UPDATE, so foreign keys that point at the row stay valid), inserted when only the
// source has it, deleted when only the target has it. For a keyless table missing copies are inserted and extra
// copies deleted. Generated columns are left to the target; identity values are kept (OVERRIDING SYSTEM VALUE).
// It never races CDC: a repair writing a source row while CDC applies an older change of the same row (or inserts a
// row the repair inserted) would leave the older value or stop CDC, so validate refuses --repair while the set's
// slot is read (RefuseWhileCdcReads, checked before the comparison and again before the first write) and holds the
// set's lock (control/set_lock.h) against a load, migrate or second repair of the set.
// Functions only; the connections are the caller's, `source` outside any snapshot transaction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pg/connection.h"
#include "validate/report.h"
#include "validate/table_sql.h"

namespace walferry::validate {

// Throws Error(kPrecondition) naming the process when the slot of `set_name` is being read on `source`.
void RefuseWhileCdcReads(pg::Connection& source, const std::string& set_name, const std::string& slot);

// Repairs every mismatch and marks it repaired; returns the number of target rows written or deleted.
// Throws (after ROLLBACK) on the first failing statement, naming the table and key.
int64_t RepairTable(const TableSql& sql, pg::Connection& source, pg::Connection& target,
                    std::vector<Mismatch>& mismatches);

}  // namespace walferry::validate
