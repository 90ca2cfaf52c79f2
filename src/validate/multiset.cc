#include "validate/multiset.h"

#include <map>

#include "common/error.h"

namespace walferry::validate {

namespace {

struct WholeTable {
  int64_t rows = 0;
  std::string hi, lo;
  bool operator==(const WholeTable&) const = default;
};

WholeTable Checksum(const TableSql& sql, pg::Connection& conn) {
  std::vector<pg::Param> params;
  std::string q = sql.Checksum(KeyRange{}, params);
  pg::Result r = conn.Exec(q, params);
  return {r.GetInt(0, 0), std::string(r.Get(0, 1)), std::string(r.Get(0, 2))};
}

std::map<std::string, int64_t> Counts(const TableSql& sql, pg::Connection& conn) {
  pg::Result r = conn.Exec(sql.Multiset());
  std::map<std::string, int64_t> out;
  for (int i = 0; i < r.rows(); ++i) out.emplace(std::string(r.Get(i, 0)), r.GetInt(i, 1));
  return out;
}

}  // namespace

MultisetResult CompareMultiset(const TableSql& sql, pg::Connection& source, pg::Connection& target) {
  return WithContext("comparing " + sql.table().name.Display() + " as a multiset of rows (it has no key)", [&] {
    MultisetResult result;
    WholeTable s = Checksum(sql, source);
    WholeTable t = Checksum(sql, target);
    result.counts = {s.rows, t.rows};
    if (s == t) return result;
    std::map<std::string, int64_t> src = Counts(sql, source);
    std::map<std::string, int64_t> tgt = Counts(sql, target);
    for (const auto& [hash, n] : src) {
      auto it = tgt.find(hash);
      int64_t m = it == tgt.end() ? 0 : it->second;
      if (n > m) result.mismatches.push_back({.kind = MismatchKind::kMissingTarget, .row_hash = hash, .copies = n - m});
    }
    for (const auto& [hash, m] : tgt) {
      auto it = src.find(hash);
      int64_t n = it == src.end() ? 0 : it->second;
      if (m > n) result.mismatches.push_back({.kind = MismatchKind::kExtraTarget, .row_hash = hash, .copies = m - n});
    }
    return result;
  });
}

}  // namespace walferry::validate
