#include "cdc/net_changes.h"

#include <algorithm>

namespace walferry::cdc {
namespace {

bool HasUnchanged(const std::vector<NetValue>& image) {
  return std::any_of(image.begin(), image.end(),
                     [](const NetValue& v) { return v.kind == ColumnKind::kUnchangedToast; });
}

}  // namespace

NetTable::NetTable(const Relation& rel, std::vector<int> key_cols)
    : rel_(rel), key_cols_(std::move(key_cols)), unchanged_cols_(rel.columns.size(), false) {}

std::optional<std::string> NetTable::KeyOf(const TupleData& t) const {
  std::string key;
  for (int c : key_cols_) {
    const ColumnValue& v = t.columns.at(static_cast<size_t>(c));
    if (v.kind == ColumnKind::kUnchangedToast || v.kind == ColumnKind::kBinary) return std::nullopt;
    if (v.kind == ColumnKind::kNull) {
      key += 'n';
      continue;
    }
    key += std::to_string(v.bytes.size());
    key += ':';
    key.append(v.bytes);
  }
  return key;
}

NetRow* NetTable::Find(const std::string& key) {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &rows_[it->second];
}

void NetTable::Put(std::string key, NetRow row) {
  Account(row, 1);
  index_.emplace(std::move(key), rows_.size());
  rows_.push_back(std::move(row));
}

NetTable NetTable::Split(const std::function<bool(const std::string& key)>& take) {
  std::vector<const std::string*> key_of(rows_.size(), nullptr);
  for (const auto& [key, i] : index_) key_of[i] = &key;
  NetTable out(rel_, key_cols_);
  NetTable kept(rel_, key_cols_);
  for (size_t i = 0; i < rows_.size(); ++i) {
    NetTable& to = take(*key_of[i]) ? out : kept;
    to.Put(*key_of[i], std::move(rows_[i]));
  }
  out.changes_ = std::min<uint64_t>(changes_, out.rows_.size());
  kept.changes_ = changes_ - out.changes_;
  *this = std::move(kept);
  return out;
}

void NetTable::Account(const NetRow& row, int sign) {
  uint64_t n = 0;
  for (const NetValue& v : row.image) n += v.bytes.size() + sizeof(NetValue);
  bytes_ = sign > 0 ? bytes_ + n : bytes_ - std::min(bytes_, n);
  if (sign > 0 && row.op == NetOp::kUpdate) {
    for (size_t c = 0; c < row.image.size(); ++c) {
      if (row.image[c].kind == ColumnKind::kUnchangedToast) unchanged_cols_[c] = true;
    }
  }
}

void NetTable::SetImage(NetRow& row, const TupleData& t, const std::vector<NetValue>* earlier) {
  std::vector<NetValue> image(t.columns.size());
  for (size_t c = 0; c < t.columns.size(); ++c) {
    const ColumnValue& v = t.columns[c];
    if (v.kind == ColumnKind::kUnchangedToast && earlier && c < earlier->size()) {
      image[c] = (*earlier)[c];  // the earlier image's value (or still unchanged)
    } else {
      image[c].kind = v.kind;
      if (v.kind == ColumnKind::kText) image[c].bytes.assign(v.bytes);
    }
  }
  row.image = std::move(image);
}

bool NetTable::AddInsert(const TupleData& row) {
  std::optional<std::string> key = KeyOf(row);
  if (!key || row.columns.size() != rel_.columns.size()) return false;
  NetRow fresh;
  SetImage(fresh, row, nullptr);
  if (HasUnchanged(fresh.image)) return false;
  NetRow* e = Find(*key);
  if (e && e->op != NetOp::kDelete && e->op != NetOp::kNone) return false;  // the key exists: not from a source
  fresh.op = e && e->op == NetOp::kDelete ? NetOp::kUpsert : NetOp::kInsert;
  ++changes_;
  if (e) {
    Account(*e, -1);
    *e = std::move(fresh);
    Account(*e, 1);
  } else {
    Put(std::move(*key), std::move(fresh));
  }
  return true;
}

bool NetTable::AddUpdate(const std::optional<OldTuple>& old, const TupleData& row) {
  if (row.columns.size() != rel_.columns.size()) return false;
  std::optional<std::string> key = KeyOf(row);
  if (!key) return false;
  std::optional<std::string> old_key;
  if (old && old->kind == OldTupleKind::kKey) {
    old_key = KeyOf(old->tuple);
    if (!old_key) return false;
    if (*old_key == *key) old_key.reset();  // the key was written with its own value
  }
  if (!old_key) {
    NetRow* e = Find(*key);
    if (e && (e->op == NetOp::kDelete || e->op == NetOp::kNone)) return false;  // no such row on the source
    NetRow next;
    next.op = e ? e->op : NetOp::kUpdate;
    SetImage(next, row, e ? &e->image : nullptr);
    ++changes_;
    if (e) {
      Account(*e, -1);
      *e = std::move(next);
      Account(*e, 1);
    } else {
      Put(std::move(*key), std::move(next));
    }
    return true;
  }
  // The key changed: the old key's row goes away, the new key's row is the whole new image.
  NetRow* eo = Find(*old_key);
  if (eo && (eo->op == NetOp::kDelete || eo->op == NetOp::kNone)) return false;
  NetRow inserted;
  SetImage(inserted, row, eo ? &eo->image : nullptr);
  if (HasUnchanged(inserted.image)) return false;  // a value neither the change nor the batch holds
  NetRow* en = Find(*key);
  if (en && en->op != NetOp::kDelete && en->op != NetOp::kNone) return false;
  inserted.op = en && en->op == NetOp::kDelete ? NetOp::kUpsert : NetOp::kInsert;
  ++changes_;
  // Old key: inserted in the batch -> nothing; existed before (updated, upserted or untouched so far) -> delete.
  NetRow gone;
  gone.op = eo && eo->op == NetOp::kInsert ? NetOp::kNone : NetOp::kDelete;
  gone.image.resize(rel_.columns.size());
  for (int c : key_cols_) {
    const ColumnValue& v = old->tuple.columns.at(static_cast<size_t>(c));
    gone.image[static_cast<size_t>(c)].kind = v.kind;
    if (v.kind == ColumnKind::kText) gone.image[static_cast<size_t>(c)].bytes.assign(v.bytes);
  }
  if (eo) {
    Account(*eo, -1);
    *eo = std::move(gone);
    Account(*eo, 1);
  } else {
    Put(std::move(*old_key), std::move(gone));
  }
  en = Find(*key);  // Put may have moved rows_
  if (en) {
    Account(*en, -1);
    *en = std::move(inserted);
    Account(*en, 1);
  } else {
    Put(std::move(*key), std::move(inserted));
  }
  return true;
}

bool NetTable::AddDelete(const TupleData& old_key) {
  if (old_key.columns.size() != rel_.columns.size()) return false;
  std::optional<std::string> key = KeyOf(old_key);
  if (!key) return false;
  NetRow* e = Find(*key);
  if (e && (e->op == NetOp::kDelete || e->op == NetOp::kNone)) return false;
  NetRow gone;
  gone.op = e && e->op == NetOp::kInsert ? NetOp::kNone : NetOp::kDelete;
  gone.image.resize(rel_.columns.size());
  for (int c : key_cols_) {
    const ColumnValue& v = old_key.columns.at(static_cast<size_t>(c));
    gone.image[static_cast<size_t>(c)].kind = v.kind;
    if (v.kind == ColumnKind::kText) gone.image[static_cast<size_t>(c)].bytes.assign(v.bytes);
  }
  ++changes_;
  if (e) {
    Account(*e, -1);
    *e = std::move(gone);
    Account(*e, 1);
  } else {
    Put(std::move(*key), std::move(gone));
  }
  return true;
}

size_t NetTable::Count(NetOp op) const {
  return static_cast<size_t>(std::count_if(rows_.begin(), rows_.end(), [op](const NetRow& r) { return r.op == op; }));
}

}  // namespace walferry::cdc
