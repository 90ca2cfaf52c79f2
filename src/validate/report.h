// validate/report.h
//
// What `walferry validate` found: per set the source position compared, per table the rows compared and each
// difference with its key and kind. Plain values: built by validate/validator.cc, printed by cli/validate.cc and
// stored in the control schema's validation_failures. No I/O here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/lsn.h"
#include "pg/quote.h"

namespace walferry::validate {

enum class MismatchKind {
  kMissingTarget,  // the source has the row, the target does not
  kExtraTarget,    // the target has a row the source does not
  kRecordDiff,     // both have the key, the rows differ
};
// MISSING_TARGET | EXTRA_TARGET | RECORD_DIFF (the failure_type stored in validation_failures).
const char* MismatchKindName(MismatchKind kind);

struct Mismatch {
  MismatchKind kind = MismatchKind::kRecordDiff;
  // Keyed tables: the key's values as the source prints them (in key column order). Empty for keyless tables.
  std::vector<std::string> key;
  // Keyless tables: the md5 of the row text, and how many copies are missing or extra.
  std::string row_hash;
  int64_t copies = 1;
  std::string details;  // for people: row texts (shortened), "changed on the source during every re-check", ...
  bool repaired = false;
};

struct TableResult {
  pg::TableName table;
  std::vector<std::string> key_columns;  // empty: compared as a multiset of rows
  int64_t source_rows = 0;
  int64_t target_rows = 0;
  std::vector<Mismatch> mismatches;  // the differences that remain after re-checks
  bool repair_ran = false;           // --repair rewrote the differing rows and checked them again
  int64_t repaired = 0;              // with --repair: target rows written or deleted
  std::vector<Mismatch> remaining;   // with --repair: differences still there after the repair
  bool truncated = false;  // more differences than --max-differences: only the first ones are listed
  double seconds = 0;
  std::string problem;  // a table-level difference (absent on the target, missing column); counts as unequal

  bool Equal() const { return problem.empty() && (repair_ran ? remaining.empty() : mismatches.empty()); }
  // "(k1, k2)=(v1, v2)" like PostgreSQL's own messages, or "row md5 <hash> x<copies>" for keyless tables.
  std::string KeyText(const Mismatch& m) const;
};

struct SetResult {
  std::string set_name;
  Lsn snapshot_lsn;                 // the source position of the comparison's snapshot
  std::optional<Lsn> applied_lsn;   // the set's CDC checkpoint when the comparison ran; nullopt: no CDC for the set
  std::optional<Lsn> recheck_lsn;   // the source position of the last re-check of differing rows
  std::vector<TableResult> tables;
  std::vector<std::string> notes;   // for people: e.g. collations that differ between the databases

  bool Equal() const;
};

// A sequence or large object that differs (validate/database_objects.h).
struct ObjectDifference {
  std::string kind;     // SEQUENCE_BEHIND | LO_DIFF
  std::string name;     // the sequence's quoted name, or the large object's OID
  std::string details;  // both values
  // Where validation_failures stores it: the sequence's schema and name, or pg_catalog.pg_largeobject and the OID.
  pg::TableName stored_as;
  std::optional<std::string> key;
};

struct ObjectsResult {
  int64_t sequences = 0;               // compared (those of the compared tables' schemas on the source)
  bool large_objects_compared = false;  // only when every table is compared (no --table): they belong to no set
  int64_t large_objects = 0;           // on the source
  std::vector<ObjectDifference> differences;
  // The source takes no writes: a difference counts (makes the report unequal). Otherwise it is expected until
  // walferry cutover sets sequences and large objects, and only reported.
  bool final = false;

  bool Equal() const { return !final || differences.empty(); }
};

struct Report {
  std::vector<SetResult> sets;
  std::optional<ObjectsResult> objects;
  double seconds = 0;
  bool Equal() const;
};

}  // namespace walferry::validate
