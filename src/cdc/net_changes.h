// cdc/net_changes.h
//
// Net changes of batch apply (docs/cdc.md "Batch apply"): the row changes of one batch of source transactions,
// collapsed per table and per replica identity key to the row's final state. Pure: no I/O, no logging.
//
//   first change(s) of a key in the batch    net row
//   insert [+ updates]                        INSERT  (the merged image)
//   update [+ updates]                        UPDATE  (merged; a column sent as unchanged TOAST takes the value
//                                                      of an earlier image of the batch, else stays "unchanged":
//                                                      the target keeps its value)
//   (update | upsert) + delete                DELETE
//   insert [+ updates] + delete               nothing
//   delete + insert [+ updates]               UPSERT  (applied as DELETE, then INSERT)
//   an update that changes the key            the old key as a delete, the new key as an insert of the whole
//                                             new image (unchanged TOAST values from an earlier image)
// A change that cannot be netted exactly is refused (Add returns false, nothing changed): the caller applies the
// net rows so far and then the change itself, per change. That happens for a change the source could not have
// sent on a consistent target (an insert of a key the batch already holds, an update or delete of a key it
// deleted), a key column sent as unchanged TOAST, and a key change whose new image still lacks a value. Which
// tables are netted at all (identity by key, a target key equal to it) is the caller's decision.
//
// Values are owned copies (the stream's buffer is reused). Memory: bytes() counts the values held; the caller
// bounds it. Thread safety: none.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cdc/pgoutput_messages.h"

namespace walferry::cdc {

enum class NetOp : char {
  kInsert = 'I',
  kUpdate = 'U',
  kDelete = 'D',
  kUpsert = 'X',  // the row existed before the batch and exists after it: DELETE, then INSERT
  kNone = 'N',    // inserted and deleted inside the batch: nothing to apply
};

// One column of a net row's image.
struct NetValue {
  ColumnKind kind = ColumnKind::kNull;  // kNull, kText or kUnchangedToast
  std::string bytes;                    // kText only
};

struct NetRow {
  NetOp op = NetOp::kNone;
  std::vector<NetValue> image;  // one per Relation column; the new image (for kDelete: the key columns only)
};

// The net rows of one table (one Relation as described when its first change was added).
class NetTable {
 public:
  // key_cols: indexes of the replica identity key columns in rel.columns (not empty).
  NetTable(const Relation& rel, std::vector<int> key_cols);

  // Each returns false (and changes nothing) when the change cannot be netted exactly (see above).
  [[nodiscard]] bool AddInsert(const TupleData& row);
  [[nodiscard]] bool AddUpdate(const std::optional<OldTuple>& old, const TupleData& row);
  [[nodiscard]] bool AddDelete(const TupleData& old_key);

  const Relation& relation() const { return rel_; }
  const std::vector<int>& key_cols() const { return key_cols_; }
  // Every row in order of its key's first change in the batch (kNone rows included: skip them).
  const std::vector<NetRow>& rows() const { return rows_; }
  size_t Count(NetOp op) const;
  // Changes added, and bytes of values held.
  uint64_t changes() const { return changes_; }
  uint64_t bytes() const { return bytes_; }
  // Whether some kUpdate row has column c unchanged (the set-based UPDATE then keeps the target's value for it).
  bool UnchangedIn(int c) const { return unchanged_cols_.at(static_cast<size_t>(c)); }

  // The keys of the rows held, encoded alike by every NetTable of one relation description.
  const std::unordered_map<std::string, size_t>& keys() const { return index_; }
  // Moves the rows whose key satisfies `take` into a new NetTable of the same relation and key, and returns it.
  // Rows of different keys are independent, so the two can be applied in either order. changes() is divided so that
  // the two add up to what this one had (the moved part takes at most one change per row).
  NetTable Split(const std::function<bool(const std::string& key)>& take);

 private:
  // The key of `t` as one string (length-prefixed values); nullopt when a key column is unchanged TOAST.
  std::optional<std::string> KeyOf(const TupleData& t) const;
  NetRow* Find(const std::string& key);
  void Put(std::string key, NetRow row);
  void SetImage(NetRow& row, const TupleData& t, const std::vector<NetValue>* earlier);
  void Account(const NetRow& row, int sign);

  Relation rel_;
  std::vector<int> key_cols_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<NetRow> rows_;
  std::vector<bool> unchanged_cols_;
  uint64_t changes_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace walferry::cdc
