// validate/table_sql.h
//
// The SQL validate runs for one table, built from the SOURCE's catalog entry so both servers evaluate exactly the
// same expressions: the row text ROW(t."c1", ...) over the source's columns by name (the target's column order does
// not matter), the key order, and key-range predicates whose bounds are parameters cast to the key's types.
// What is hashed is the row's digest text: its text with every bytea value replaced by the md5 of its bytes (equal
// exactly when the bytes are equal; no hex text twice the value's size) and, when both databases share an encoding,
// every text or varchar value over 1,000 bytes by 'm' and its md5, any other by 't' and itself (no quoting of long
// values; a short value never equals a long one's digest).
// Templates live in src/sql/validate/*.sql; every identifier is quoted, every value is a parameter.
// Pure: builds strings, runs nothing. Immutable after construction; safe to share between threads.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "pg/connection.h"

namespace walferry::validate {

using KeyValues = std::vector<std::string>;  // one key's values as text, in key column order

// The rows with lo < key <= hi (row comparison in key order); an absent bound is unbounded.
struct KeyRange {
  std::optional<KeyValues> lo;
  std::optional<KeyValues> hi;
};

class TableSql {
 public:
  // c_collation: compare and order string-typed key columns with COLLATE "C", so a source and a target with
  // different default collations put every row in the same range (at the price of not using the key's index).
  // hash_as_utf8: hash each row's text converted to UTF8, so a source and a target in different encodings hash
  // equal characters to equal bytes (each server would otherwise hash its own encoding's bytes).
  // fast_checksum: range checksums sum hashtextextended (both servers hash a probe text alike: same byte order)
  // rather than md5; never with hash_as_utf8.
  TableSql(const catalog::TableInfo& table, bool c_collation, bool hash_as_utf8, bool fast_checksum = true);
  TableSql(const TableSql&) = delete;  // holds pointers into its own copy of the table
  TableSql& operator=(const TableSql&) = delete;

  bool keyed() const { return !key_.empty(); }
  const std::vector<std::string>& key_columns() const { return key_; }
  const catalog::TableInfo& table() const { return table_; }

  // Each returns SQL and appends its parameters to `params` (which must be empty on entry).
  std::string Checksum(const KeyRange& range, std::vector<pg::Param>& params) const;
  // The same statement without its closing ';': a SELECT to embed (RangeChecksum::CompareWholeTables).
  std::string ChecksumSelect(const KeyRange& range, std::vector<pg::Param>& params) const;
  std::string Boundaries(const KeyRange& range, int64_t step, std::vector<pg::Param>& params) const;
  // The whole table's top-level range bounds: every `rows` rows and every `bytes` bytes of row size.
  std::string PlanBoundaries(int64_t rows, int64_t bytes, std::vector<pg::Param>& params) const;
  std::string LeafRows(const KeyRange& range, std::vector<pg::Param>& params) const;
  std::string RowHashByKey(const KeyValues& key, std::vector<pg::Param>& params) const;
  // Row text, then the insertable columns (InsertableColumns() order).
  std::string RowByKey(const KeyValues& key, std::vector<pg::Param>& params) const;
  std::string RowByHash(const std::string& hash, std::vector<pg::Param>& params) const;
  std::string Multiset() const;

  // --repair statements. `values` are the source's values of InsertableColumns() (nullopt = NULL).
  std::string DeleteKey(const KeyValues& key, std::vector<pg::Param>& params) const;
  std::string DeleteCopies(const std::string& hash, int64_t copies, std::vector<pg::Param>& params) const;
  std::string Insert(const std::vector<pg::Param>& values, std::vector<pg::Param>& params) const;
  // Sets every updatable column (not generated, not GENERATED ALWAYS identity) of the key's row.
  std::string Update(const KeyValues& key, const std::vector<pg::Param>& values, std::vector<pg::Param>& params) const;

  // Columns a row is rebuilt from: all but generated columns (the target computes those).
  const std::vector<const catalog::ColumnInfo*>& InsertableColumns() const { return insertable_; }

 private:
  std::string Fill(std::string_view template_name, const std::vector<std::pair<std::string, std::string>>& subs) const;
  std::string KeyExpr(size_t i) const;  // t."k" [COLLATE "C"]
  std::string KeyList() const;          // t."k1", t."k2"
  std::string OrderList() const;        // KeyExpr(0), KeyExpr(1)
  std::string RangeWhere(const KeyRange& range, std::vector<pg::Param>& params) const;
  std::string KeyEquals(const KeyValues& key, std::vector<pg::Param>& params) const;
  std::string Cast(size_t param_number, const catalog::ColumnInfo& column) const;

  // The table as reads, UPDATE and DELETE name it: ONLY, so that a legacy-inheritance parent is never its children
  // (a partitioned table's rows are its partitions', so it is named plainly). INSERT names table_ itself.
  std::string Scan() const { return (table_.relkind == 'p' ? "" : "ONLY ") + table_.name.Quoted(); }
  catalog::TableInfo table_;
  std::vector<std::string> key_;
  std::vector<const catalog::ColumnInfo*> key_info_;
  std::vector<const catalog::ColumnInfo*> insertable_;
  std::string row_;     // ROW(t."c1", ...): the row's text as reports show it
  std::string digest_;  // row_ with each bytea column replaced by its md5: what checksums and row hashes read
  std::string hash_;    // md5 of digest_'s text, converted to UTF8 first when hash_as_utf8
  bool c_collation_;
  bool md5_checksum_;  // range checksums from md5 (different encodings, or hashtextextended differs)
};

}  // namespace walferry::validate
