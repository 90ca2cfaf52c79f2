// validate/multiset.h
//
// Compares a table without a usable key as a multiset of rows: first the whole table's count and checksum on both
// servers; only when they differ, how many times each distinct row (md5 of its text) occurs on each side, read in
// hash order through a cursor on each server and merged as it streams. Each difference is one distinct row with the
// number of copies missing on or extra on the target.
// Memory: bounded, whatever the table's size: one batch of kMultisetBatch rows per side plus the differences kept
// (at most `max_differences`; beyond them `truncated` is set). The servers sort (spilling to disk as they need).
// Functions only; the connections are the caller's.
#pragma once

#include <cstdint>
#include <vector>

#include "pg/connection.h"
#include "validate/range_checksum.h"
#include "validate/report.h"
#include "validate/table_sql.h"

namespace walferry::validate {

inline constexpr int kMultisetBatch = 10000;  // rows fetched per round trip from each side

struct MultisetResult {
  RangeCounts counts;
  std::vector<Mismatch> mismatches;  // kind kMissingTarget / kExtraTarget, row_hash and copies set, in hash order
  bool truncated = false;            // more than max_differences: only the first ones (in hash order) are kept
};

// Either connection may be inside a transaction (the source's snapshot) or not.
MultisetResult CompareMultiset(const TableSql& sql, pg::Connection& source, pg::Connection& target,
                               int64_t max_differences = INT64_MAX);

}  // namespace walferry::validate
