#include "validate/report.h"

namespace walferry::validate {

const char* MismatchKindName(MismatchKind kind) {
  switch (kind) {
    case MismatchKind::kMissingTarget: return "MISSING_TARGET";
    case MismatchKind::kExtraTarget: return "EXTRA_TARGET";
    case MismatchKind::kRecordDiff: return "RECORD_DIFF";
  }
  return "?";
}

std::string TableResult::KeyText(const Mismatch& m) const {
  if (key_columns.empty()) return "row md5 " + m.row_hash + " x" + std::to_string(m.copies);
  std::string names, values;
  for (size_t i = 0; i < key_columns.size(); ++i) {
    if (i > 0) names += ", ", values += ", ";
    names += pg::QuoteIdent(key_columns[i]);
    values += i < m.key.size() ? m.key[i] : "?";
  }
  return "(" + names + ")=(" + values + ")";
}

bool SetResult::Equal() const {
  for (const auto& t : tables) {
    if (!t.Equal()) return false;
  }
  return true;
}

bool Report::Equal() const {
  for (const auto& s : sets) {
    if (!s.Equal()) return false;
  }
  return !objects || objects->Equal();
}

}  // namespace walferry::validate
