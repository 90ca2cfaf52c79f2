#include "validate/multiset.h"

#include <future>
#include <string>

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

// One side's distinct rows in hash order, read through a cursor WITH HOLD (usable inside and outside a
// transaction), kMultisetBatch rows at a time. Closes the cursor when it goes.
class HashStream {
 public:
  HashStream(const TableSql& sql, pg::Connection& conn) : conn_(conn) {
    conn_.Exec("DECLARE walferry_multiset NO SCROLL CURSOR WITH HOLD FOR " + sql.Multiset());
  }
  ~HashStream() {
    try {
      conn_.Exec("CLOSE walferry_multiset");
    } catch (...) {
      // The connection failed; the error that caused it is already on its way up.
    }
  }
  HashStream(const HashStream&) = delete;
  HashStream& operator=(const HashStream&) = delete;

  bool done() {
    Fill();
    return row_ >= batch_.rows();
  }
  std::string hash() const { return std::string(batch_.Get(row_, 0)); }
  int64_t copies() const { return batch_.GetInt(row_, 1); }
  void Next() { ++row_; }

 private:
  void Fill() {
    if (row_ < batch_.rows() || ended_) return;
    batch_ = conn_.Exec("FETCH FORWARD " + std::to_string(kMultisetBatch) + " FROM walferry_multiset");
    row_ = 0;
    ended_ = batch_.rows() < kMultisetBatch;
  }
  pg::Connection& conn_;
  pg::Result batch_;
  int row_ = 0;
  bool ended_ = false;
};

}  // namespace

MultisetResult CompareMultiset(const TableSql& sql, pg::Connection& source, pg::Connection& target,
                               int64_t max_differences) {
  return WithContext("comparing " + sql.table().name.Display() + " as a multiset of rows (it has no key)", [&] {
    MultisetResult result;
    // Both servers at once; a source error waits for the target's query (the future's destructor) first.
    std::future<WholeTable> tf = std::async(std::launch::async, [&] { return Checksum(sql, target); });
    WholeTable s = Checksum(sql, source);
    WholeTable t = tf.get();
    result.counts = {s.rows, t.rows};
    if (s == t) return result;
    HashStream src(sql, source), tgt(sql, target);
    auto add = [&](MismatchKind kind, std::string hash, int64_t copies) {
      if (static_cast<int64_t>(result.mismatches.size()) >= max_differences) {
        result.truncated = true;
        return;
      }
      result.mismatches.push_back({.kind = kind, .row_hash = std::move(hash), .copies = copies});
    };
    while (!result.truncated && (!src.done() || !tgt.done())) {
      int order = src.done() ? 1 : tgt.done() ? -1 : src.hash().compare(tgt.hash());
      if (order < 0) {
        add(MismatchKind::kMissingTarget, src.hash(), src.copies());
        src.Next();
      } else if (order > 0) {
        add(MismatchKind::kExtraTarget, tgt.hash(), tgt.copies());
        tgt.Next();
      } else {
        int64_t n = src.copies(), m = tgt.copies();
        if (n > m) add(MismatchKind::kMissingTarget, src.hash(), n - m);
        if (m > n) add(MismatchKind::kExtraTarget, src.hash(), m - n);
        src.Next();
        tgt.Next();
      }
    }
    return result;
  });
}

}  // namespace walferry::validate
