// validate/multiset.h
//
// Compares a table without a usable key as a multiset of rows: first the whole table's count and checksum on both
// servers; only when they differ, how many times each distinct row (md5 of its text) occurs on each side. Each
// difference is one distinct row with the number of copies missing on or extra on the target.
// Memory: one entry per distinct row of the table on each side (about 100 bytes) when the checksums differ.
// Functions only; the connections are the caller's.
#pragma once

#include <vector>

#include "pg/connection.h"
#include "validate/range_checksum.h"
#include "validate/report.h"
#include "validate/table_sql.h"

namespace walferry::validate {

struct MultisetResult {
  RangeCounts counts;
  std::vector<Mismatch> mismatches;  // kind kMissingTarget / kExtraTarget, row_hash and copies set
};

MultisetResult CompareMultiset(const TableSql& sql, pg::Connection& source, pg::Connection& target);

}  // namespace walferry::validate
