// validate/range_checksum.h
//
// Compares a table with a key between source and target without shipping its rows: the key space is cut into
// ranges of about `range_rows` source rows; each range's count and 128-bit checksum (src/sql/validate/
// range_checksum.sql) is computed on both servers; a range that differs is cut into `kFanout` smaller ranges
// (boundaries sampled from whichever side has more rows there) until it holds at most `kLeafRows` rows, and only
// then are the keys and row hashes of that small range fetched from both sides and classified: missing on the
// target, extra on the target, or different.
// Stateless apart from the TableSql it reads; the connections are the caller's (one thread per connection pair).
#pragma once

#include <cstdint>
#include <utility>
#include <optional>
#include <string>
#include <vector>

#include "pg/connection.h"
#include "validate/report.h"
#include "validate/table_sql.h"

namespace walferry::validate {

struct RangeCounts {
  int64_t source_rows = 0;
  int64_t target_rows = 0;
};

class RangeChecksum {
 public:
  static constexpr int64_t kLeafRows = 64;
  static constexpr int64_t kFanout = 16;

  // sql.keyed() must be true.
  explicit RangeChecksum(const TableSql& sql);

  // Consecutive ranges covering the whole key space (first and last unbounded), each at most about range_rows
  // source rows and range_bytes bytes of row size (validate/plan_boundaries.sql). A table the source's statistics
  // say is well under one range (analyzed, fewer than range_rows / 2 rows, no TOAST data, a heap under range_bytes
  // / 2) is one range, without a query: only the work is split by the estimate, never what is compared.
  // A table keyed by one integer column with little TOAST data is cut without reading its rows: min and max of the
  // key (from its index), split into equal spans, as many as the statistics' rows and bytes ask for; skewed keys
  // make uneven ranges, never a missed row (the first and last ranges are open).
  std::vector<KeyRange> PlanRanges(pg::Connection& source, int64_t range_rows, int64_t range_bytes) const;
  // Whether PlanRanges plans the table as one range without asking the source.
  static bool OneRange(const catalog::TableInfo& table, int64_t range_rows, int64_t range_bytes);

  // Compares one range, narrowing as needed; appends every difference to `out` (in key order per leaf).
  RangeCounts Compare(pg::Connection& source, pg::Connection& target, const KeyRange& range,
                      std::vector<Mismatch>& out) const;

  // Several tables that PlanRanges plans as one range each, checked in ONE statement per server (the servers at
  // once): for each table, in the order given, both sides' row counts and whether their checksums agree. Many
  // small tables cost a round trip per group, not per table; a table that differs is then compared on its own
  // (Compare), which finds the rows. Every TableSql must be keyed.
  struct WholeTable {
    RangeCounts counts;
    bool equal = false;
  };
  static std::vector<WholeTable> CompareWholeTables(pg::Connection& source, pg::Connection& target,
                                                    const std::vector<const TableSql*>& tables);

  // The md5 of the row with this key, nullopt when there is none (for re-checks).
  std::optional<std::string> RowHash(pg::Connection& conn, const KeyValues& key) const;

 private:
  struct Sum {
    int64_t rows = 0;
    std::string hi, lo;
    bool operator==(const Sum&) const = default;
  };
  Sum Checksum(pg::Connection& conn, const KeyRange& range) const;
  // Both sides' checksums of one range, computed at the same time (the target's on a thread of its own).
  std::pair<Sum, Sum> Checksums(pg::Connection& source, pg::Connection& target, const KeyRange& range) const;
  std::vector<KeyValues> Boundaries(pg::Connection& conn, const KeyRange& range, int64_t step) const;
  std::optional<std::vector<KeyRange>> IntegerKeyRanges(pg::Connection& source, int64_t range_rows,
                                                        int64_t range_bytes) const;
  void CompareLeaf(pg::Connection& source, pg::Connection& target, const KeyRange& range,
                   std::vector<Mismatch>& out) const;
  void Narrow(pg::Connection& source, pg::Connection& target, const KeyRange& range, const Sum& s, const Sum& t,
              std::vector<Mismatch>& out) const;
  static std::vector<KeyRange> Split(const KeyRange& range, std::vector<KeyValues> bounds);

  const TableSql& sql_;
};

}  // namespace walferry::validate
