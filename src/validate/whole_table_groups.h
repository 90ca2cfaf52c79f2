// validate/whole_table_groups.h
//
// How validate groups small keyed tables (each planned as one range, RangeChecksum::OneRange) for
// RangeChecksum::CompareWholeTables: consecutive tables, at most kMaxTables per group and about one range's rows and
// bytes (the source's estimated rows and heap bytes against --range-rows and --range-bytes), so that a group costs
// what one range of a big table costs. A table that alone exceeds a bound is a group of its own.
// Pure: no I/O. Thread-safe (no state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "catalog/catalog.h"

namespace walferry::validate {

inline constexpr size_t kMaxTablesPerGroup = 100;

// Groups of indexes into `tables`, in order: every index exactly once, no group empty.
std::vector<std::vector<size_t>> WholeTableGroups(const std::vector<const catalog::TableInfo*>& tables,
                                                  int64_t range_rows, int64_t range_bytes);

}  // namespace walferry::validate
