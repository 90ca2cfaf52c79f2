#include "validate/range_checksum.h"

#include <algorithm>
#include <cmath>
#include <future>
#include <map>

#include "common/error.h"
#include "pg/quote.h"

namespace walferry::validate {

namespace {
// f(source) here and f(target) on a thread of its own, at the same time: {source's result, target's}. A source
// error waits for the target's call (the future's destructor) before it propagates; a target error is thrown by get().
template <typename F>
auto OnBothServers(pg::Connection& source, pg::Connection& target, F f) {
  auto on_target = std::async(std::launch::async, [&] { return f(target); });
  auto on_source = f(source);
  return std::make_pair(std::move(on_source), on_target.get());
}
}  // namespace

RangeChecksum::RangeChecksum(const TableSql& sql) : sql_(sql) {
  if (!sql_.keyed()) throw Error(ErrorKind::kInternal, "RangeChecksum needs a table with a key");
}

RangeChecksum::Sum RangeChecksum::Checksum(pg::Connection& conn, const KeyRange& range) const {
  std::vector<pg::Param> params;
  std::string q = sql_.Checksum(range, params);
  pg::Result r = conn.Exec(q, params);
  return Sum{r.GetInt(0, 0), std::string(r.Get(0, 1)), std::string(r.Get(0, 2))};
}

std::pair<RangeChecksum::Sum, RangeChecksum::Sum> RangeChecksum::Checksums(pg::Connection& source,
                                                                           pg::Connection& target,
                                                                           const KeyRange& range) const {
  return OnBothServers(source, target, [&](pg::Connection& conn) { return Checksum(conn, range); });
}

std::vector<RangeChecksum::WholeTable> RangeChecksum::CompareWholeTables(pg::Connection& source,
                                                                         pg::Connection& target,
                                                                         const std::vector<const TableSql*>& tables) {
  // SELECT 0, q.* FROM (<table 0's whole-table checksum>) q UNION ALL SELECT 1, ...: the same sums as Checksum.
  std::string q;
  for (size_t i = 0; i < tables.size(); ++i) {
    if (!tables[i]->keyed()) throw Error(ErrorKind::kInternal, "CompareWholeTables needs tables with a key");
    std::vector<pg::Param> params;
    std::string one = tables[i]->ChecksumSelect(KeyRange{}, params);
    if (!params.empty()) throw Error(ErrorKind::kInternal, "a whole-table checksum took parameters");
    q += (i ? "\nUNION ALL " : "") + std::string("SELECT ") + std::to_string(i) + ", q.* FROM (" + one + "\n) q";
  }
  auto sums = [&](pg::Connection& conn) {
    std::vector<Sum> out(tables.size());
    std::vector<bool> seen(tables.size());
    if (tables.empty()) return out;
    pg::Result r = conn.Exec(q);
    for (int row = 0; row < r.rows(); ++row) {
      const auto i = static_cast<size_t>(r.GetInt(row, 0));
      if (i >= out.size() || seen[i]) throw Error(ErrorKind::kInternal, "unexpected row in the grouped checksums");
      seen[i] = true;
      out[i] = Sum{r.GetInt(row, 1), std::string(r.Get(row, 2)), std::string(r.Get(row, 3))};
    }
    if (std::count(seen.begin(), seen.end(), false) > 0) {
      throw Error(ErrorKind::kInternal, "a table's row is missing from the grouped checksums");
    }
    return out;
  };
  const auto [s, tt] = OnBothServers(source, target, sums);
  std::vector<WholeTable> out;
  out.reserve(tables.size());
  for (size_t i = 0; i < tables.size(); ++i) out.push_back({{s[i].rows, tt[i].rows}, s[i] == tt[i]});
  return out;
}

std::vector<KeyValues> RangeChecksum::Boundaries(pg::Connection& conn, const KeyRange& range, int64_t step) const {
  std::vector<pg::Param> params;
  std::string q = sql_.Boundaries(range, step, params);
  pg::Result r = conn.Exec(q, params);
  std::vector<KeyValues> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) {
    KeyValues k;
    for (int c = 0; c < r.cols(); ++c) k.emplace_back(r.Get(i, c));  // key columns are never NULL
    out.push_back(std::move(k));
  }
  return out;
}

std::vector<KeyRange> RangeChecksum::Split(const KeyRange& range, std::vector<KeyValues> bounds) {
  // bounds are non-decreasing keys inside range; the last sub-range keeps range's own upper bound. A key the
  // sample met several times (a target holding it many times, without the unique index) bounds one range only,
  // so every sub-range is smaller in keys than `range` and narrowing ends.
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  if (range.hi && !bounds.empty() && bounds.back() == *range.hi) bounds.pop_back();
  std::vector<KeyRange> out;
  std::optional<KeyValues> lo = range.lo;
  for (auto& b : bounds) {
    out.push_back({lo, b});
    lo = std::move(b);
  }
  out.push_back({lo, range.hi});
  return out;
}

bool RangeChecksum::OneRange(const catalog::TableInfo& table, int64_t range_rows, int64_t range_bytes) {
  constexpr int64_t kNoToastData = 64 * 1024;  // an empty TOAST table and its index take a few pages
  return table.estimated_rows_known && table.estimated_rows * 2 < static_cast<double>(range_rows) &&
         table.toast_bytes < kNoToastData && table.heap_bytes * 2 < range_bytes;
}

std::optional<std::vector<KeyRange>> RangeChecksum::IntegerKeyRanges(pg::Connection& source, int64_t range_rows,
                                                                      int64_t range_bytes) const {
  const catalog::TableInfo& t = sql_.table();
  if (sql_.key_columns().size() != 1 || !t.estimated_rows_known || t.toast_bytes * 4 > t.heap_bytes) return {};
  const catalog::ColumnInfo* key = t.FindColumn(sql_.key_columns()[0]);
  if (key == nullptr || (key->type_oid != 20 && key->type_oid != 21 && key->type_oid != 23)) return {};  // int8/2/4
  const std::string k = "t." + pg::QuoteIdent(key->name);
  pg::Result r = source.Exec("SELECT min(" + k + ")::text, max(" + k + ")::text FROM " +
                             (t.relkind == 'p' ? "" : "ONLY ") + t.name.Quoted() + " t");
  if (!r.GetOpt(0, 0) || !r.GetOpt(0, 1)) return std::vector<KeyRange>{KeyRange{}};  // empty
  const int64_t lo = std::stoll(std::string(r.Get(0, 0))), hi = std::stoll(std::string(r.Get(0, 1)));
  const double by_rows = t.estimated_rows / static_cast<double>(std::max<int64_t>(range_rows, 1));
  const double by_bytes =
      static_cast<double>(t.heap_bytes + t.toast_bytes) / static_cast<double>(std::max<int64_t>(range_bytes, 1));
  const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);  // modulo 2^64: exact
  const uint64_t wanted = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(std::max(by_rows, by_bytes))));
  const uint64_t parts = std::min<uint64_t>(wanted, std::max<uint64_t>(1, span));
  std::vector<KeyValues> bounds;
  const uint64_t step = span / parts;
  for (uint64_t i = 1; i < parts; ++i) {
    bounds.push_back({std::to_string(static_cast<int64_t>(static_cast<uint64_t>(lo) + step * i))});
  }
  return Split(KeyRange{}, std::move(bounds));
}

std::vector<KeyRange> RangeChecksum::PlanRanges(pg::Connection& source, int64_t range_rows, int64_t range_bytes) const {
  if (OneRange(sql_.table(), range_rows, range_bytes)) return {KeyRange{}};
  if (auto ranges = WithContext("cutting " + sql_.table().name.Display() + " into key ranges",
                                [&] { return IntegerKeyRanges(source, range_rows, range_bytes); })) {
    return *ranges;
  }
  return WithContext("cutting " + sql_.table().name.Display() + " into key ranges", [&] {
    std::vector<pg::Param> params;
    std::string q = sql_.PlanBoundaries(std::max<int64_t>(range_rows, 1), std::max<int64_t>(range_bytes, 1), params);
    pg::Result r = source.Exec(q, params);
    std::vector<KeyValues> bounds;
    bounds.reserve(r.rows());
    for (int i = 0; i < r.rows(); ++i) {
      KeyValues k;
      for (int c = 0; c < r.cols(); ++c) k.emplace_back(r.Get(i, c));  // key columns are never NULL
      bounds.push_back(std::move(k));
    }
    return Split(KeyRange{}, std::move(bounds));
  });
}

RangeCounts RangeChecksum::Compare(pg::Connection& source, pg::Connection& target, const KeyRange& range,
                                   std::vector<Mismatch>& out) const {
  auto [s, t] = Checksums(source, target, range);
  if (!(s == t)) Narrow(source, target, range, s, t, out);
  return {s.rows, t.rows};
}

void RangeChecksum::Narrow(pg::Connection& source, pg::Connection& target, const KeyRange& range, const Sum& s,
                           const Sum& t, std::vector<Mismatch>& out) const {
  int64_t rows = std::max(s.rows, t.rows);
  if (rows <= kLeafRows) return CompareLeaf(source, target, range, out);
  // Sample sub-range bounds where the rows are: a range the target filled with extras has no source keys.
  pg::Connection& denser = s.rows >= t.rows ? source : target;
  int64_t step = (rows + kFanout - 1) / kFanout;
  std::vector<KeyRange> parts = Split(range, Boundaries(denser, range, step));
  if (parts.size() < 2) return CompareLeaf(source, target, range, out);  // cannot narrow further
  for (const KeyRange& part : parts) {
    auto [ps, pt] = Checksums(source, target, part);
    if (!(ps == pt)) Narrow(source, target, part, ps, pt, out);
  }
}

void RangeChecksum::CompareLeaf(pg::Connection& source, pg::Connection& target, const KeyRange& range,
                                std::vector<Mismatch>& out) const {
  auto fetch = [&](pg::Connection& conn) {
    std::vector<pg::Param> params;
    std::string q = sql_.LeafRows(range, params);
    pg::Result r = conn.Exec(q, params);
    std::vector<std::pair<KeyValues, std::string>> rows;
    int nkey = r.cols() - 1;
    for (int i = 0; i < r.rows(); ++i) {
      KeyValues k;
      for (int c = 0; c < nkey; ++c) k.emplace_back(r.Get(i, c));
      rows.emplace_back(std::move(k), std::string(r.Get(i, nkey)));
    }
    return rows;
  };
  auto src = fetch(source);
  auto tgt = fetch(target);
  std::map<KeyValues, const std::string*> target_hash;
  for (const auto& [k, h] : tgt) {
    // A target without the key's unique index can hold a key twice: the second copy is extra.
    if (!target_hash.emplace(k, &h).second) out.push_back({.kind = MismatchKind::kExtraTarget, .key = k,
                                                           .details = "duplicate key on the target"});
  }
  std::map<KeyValues, bool> on_source;
  for (const auto& [k, h] : src) {
    on_source.emplace(k, true);
    auto it = target_hash.find(k);
    if (it == target_hash.end()) {
      out.push_back({.kind = MismatchKind::kMissingTarget, .key = k});
    } else if (*it->second != h) {
      out.push_back({.kind = MismatchKind::kRecordDiff, .key = k});
    }
  }
  for (const auto& [k, h] : tgt) {
    if (!on_source.contains(k)) out.push_back({.kind = MismatchKind::kExtraTarget, .key = k});
  }
}

std::optional<std::string> RangeChecksum::RowHash(pg::Connection& conn, const KeyValues& key) const {
  std::vector<pg::Param> params;
  std::string q = sql_.RowHashByKey(key, params);
  pg::Result r = conn.Exec(q, params);
  if (r.rows() == 0) return std::nullopt;
  return std::string(r.Get(0, 0));
}

}  // namespace walferry::validate
