#include "validate/table_sql.h"

#include "common/error.h"
#include "pg/quote.h"
#include "sql/sql.h"

namespace walferry::validate {

namespace {
std::string Col(const std::string& name) { return "t." + pg::QuoteIdent(name); }
constexpr uint32_t kByteaOid = 17;  // pg_type.oid of bytea, text and varchar: the same on every server
constexpr uint32_t kTextOid = 25;
constexpr uint32_t kVarcharOid = 1043;
// Built-in types of a fixed size (bool, char, int2/4/8, oid, float4/8, money, date, time, timetz, timestamp,
// timestamptz, interval, uuid): the same OIDs on every server.
bool FixedSize(uint32_t oid) {
  for (uint32_t f : {16u, 18u, 20u, 21u, 23u, 26u, 700u, 701u, 790u, 1082u, 1083u, 1266u, 1114u, 1184u, 1186u, 2950u}) {
    if (oid == f) return true;
  }
  return false;
}
// What the row's digest text holds for one column (see table_sql.h). A text or varchar value over kLongText bytes
// (octet_length reads its TOAST header: nothing is fetched) is 'm' and the md5 of its bytes, any other 't' and the
// value itself: the prefixes keep a short value from ever equalling a long one's md5, NULL stays NULL and the empty
// string is 't'. The row's text would quote every '"' and backslash of a long value, then hash it twice: 2,000 values of
// about 100 kB took 710 ms on one server as text, 310 ms so. Only when both databases share an encoding: md5 hashes
// the server's bytes, and with hash_as_utf8 the UTF8 form of the characters must be what is hashed.
constexpr int kLongText = 1000;
std::string DigestOf(const catalog::ColumnInfo& c, bool hash_as_utf8) {
  const std::string col = Col(c.name);
  if (c.type_oid == kByteaOid) return "pg_catalog.md5(" + col + ")";
  if ((c.type_oid == kTextOid || c.type_oid == kVarcharOid) && !hash_as_utf8) {
    return "CASE WHEN pg_catalog.octet_length(" + col + ") > " + std::to_string(kLongText) + " THEN 'm' || " +
           "pg_catalog.md5(" + col + ") ELSE 't' || " + col + " END";
  }
  return col;
}
}  // namespace

TableSql::TableSql(const catalog::TableInfo& table, bool c_collation, bool hash_as_utf8, bool fast_checksum)
    : table_(table), c_collation_(c_collation), md5_checksum_(hash_as_utf8 || !fast_checksum) {
  key_ = table_.KeyColumns();
  for (const auto& k : key_) {
    const catalog::ColumnInfo* c = table_.FindColumn(k);
    if (c == nullptr) {
      throw Error(ErrorKind::kInternal, "key column " + pg::QuoteIdent(k) + " of " + table_.name.Display() +
                                            " is not among its columns");
    }
    key_info_.push_back(c);
  }
  row_ = "ROW(";
  digest_ = "ROW(";
  for (size_t i = 0; i < table_.columns.size(); ++i) {
    const catalog::ColumnInfo& c = table_.columns[i];
    row_ += (i ? ", " : "") + Col(c.name);
    // A bytea value's text is hex, twice its bytes, then quoted into the row's text and hashed: its md5 (of the
    // bytes themselves, NULL for NULL) is cheaper by a factor of about five on large values and tells the same
    // values apart. Only plain bytea: a domain over it keeps its text.
    digest_ += (i ? ", " : "") + DigestOf(c, hash_as_utf8);
    if (!c.generated) insertable_.push_back(&c);
  }
  row_ += ")";
  digest_ += ")";
  hash_ = hash_as_utf8 ? "md5(pg_catalog.convert_to(" + digest_ + "::text, 'UTF8'))" : "md5(" + digest_ + "::text)";
}

std::string TableSql::Fill(std::string_view template_name,
                           const std::vector<std::pair<std::string, std::string>>& subs) const {
  std::string_view text = sql::Get(template_name);
  std::vector<std::pair<std::string, std::string>> all = subs;
  all.insert(all.end(), {{"@ROW@", row_}, {"@HASH@", hash_}});
  // Drop the leading comment (it documents the markers) so what the server sees and logs is the statement.
  while (text.starts_with("--")) {
    size_t nl = text.find('\n');
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  }
  // One pass: substituted text (quoted identifiers may contain '@') is never scanned for markers again.
  std::string out;
  for (size_t pos = 0; pos < text.size();) {
    bool replaced = false;
    if (text[pos] == '@') {
      for (const auto& [marker, value] : all) {
        if (text.substr(pos, marker.size()) == marker) {
          out += value;
          pos += marker.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += text[pos++];
  }
  return out;
}

std::string TableSql::KeyExpr(size_t i) const {
  std::string e = Col(key_[i]);
  if (c_collation_ && key_info_[i]->type_category == 'S') e += " COLLATE \"C\"";
  return e;
}

std::string TableSql::KeyList() const {
  std::string out;
  for (size_t i = 0; i < key_.size(); ++i) out += (i ? ", " : "") + Col(key_[i]);
  return out;
}

std::string TableSql::OrderList() const {
  std::string out;
  for (size_t i = 0; i < key_.size(); ++i) out += (i ? ", " : "") + KeyExpr(i);
  return out;
}

std::string TableSql::Cast(size_t param_number, const catalog::ColumnInfo& column) const {
  return "$" + std::to_string(param_number) + "::" + column.type_name;
}

std::string TableSql::RangeWhere(const KeyRange& range, std::vector<pg::Param>& params) const {
  auto bound = [&](const KeyValues& values, const char* op) {
    if (values.size() != key_.size()) throw Error(ErrorKind::kInternal, "key range bound has the wrong arity");
    std::string lhs = "ROW(" + OrderList() + ")", rhs = "ROW(";
    for (size_t i = 0; i < values.size(); ++i) {
      params.push_back(values[i]);
      rhs += (i ? ", " : "") + Cast(params.size(), *key_info_[i]);
    }
    return lhs + " " + op + " " + rhs + ")";
  };
  std::string where = "TRUE";
  if (range.lo) where += " AND " + bound(*range.lo, ">");
  if (range.hi) where += " AND " + bound(*range.hi, "<=");
  return where;
}

std::string TableSql::KeyEquals(const KeyValues& key, std::vector<pg::Param>& params) const {
  if (key.size() != key_.size()) throw Error(ErrorKind::kInternal, "key has the wrong arity");
  std::string out;
  for (size_t i = 0; i < key.size(); ++i) {
    params.push_back(key[i]);
    out += (i ? " AND " : "") + Col(key_[i]) + " = " + Cast(params.size(), *key_info_[i]);
  }
  return out;
}

std::string TableSql::Checksum(const KeyRange& range, std::vector<pg::Param>& params) const {
  std::string where = keyed() ? RangeWhere(range, params) : "TRUE";
  if (md5_checksum_) {
    return Fill("validate/range_checksum",
                {{"@TABLE@", Scan()}, {"@WHERE@", where}, {"@INNER@", hash_ + " AS h"},
                 {"@SUMS@", "coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint::numeric), 0)::text, "
                            "coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint::numeric), 0)::text"}});
  }
  return Fill("validate/range_checksum",
              {{"@TABLE@", Scan()}, {"@WHERE@", where}, {"@INNER@", digest_ + "::text COLLATE \"C\" AS r"},
               {"@SUMS@", "coalesce(sum(pg_catalog.hashtextextended(r, 0)), 0)::text, "
                          "coalesce(sum(pg_catalog.hashtextextended(r, 1)), 0)::text"}});
}

std::string TableSql::ChecksumSelect(const KeyRange& range, std::vector<pg::Param>& params) const {
  std::string q = Checksum(range, params);
  while (!q.empty() && (q.back() == ';' || q.back() == '\n' || q.back() == ' ')) q.pop_back();
  return q;
}

std::string TableSql::Boundaries(const KeyRange& range, int64_t step, std::vector<pg::Param>& params) const {
  params.push_back(std::to_string(step));
  std::string where = RangeWhere(range, params);
  std::string skeys;
  for (size_t i = 0; i < key_.size(); ++i) skeys += (i ? ", s." : "s.") + pg::QuoteIdent(key_[i]);
  return Fill("validate/boundaries", {{"@SKEYS@", skeys}, {"@KEYS@", KeyList()}, {"@ORDER@", OrderList()},
                                      {"@TABLE@", Scan()}, {"@WHERE@", where}});
}

std::string TableSql::PlanBoundaries(int64_t rows, int64_t bytes, std::vector<pg::Param>& params) const {
  params.push_back(std::to_string(rows));
  params.push_back(std::to_string(bytes));
  // A row's header, 8 bytes for each column of a fixed-size built-in type (no call per row: a table of many
  // integer columns would spend more on sizing than on hashing), and the size of every other value.
  int64_t fixed = 24;
  std::string width;
  for (const auto& c : table_.columns) {
    if (FixedSize(c.type_oid)) {
      fixed += 8;
      continue;
    }
    bool raw = c.type_oid == kByteaOid || c.type_oid == kTextOid || c.type_oid == kVarcharOid;
    width += std::string(" + coalesce(") + (raw ? "pg_catalog.octet_length(" : "pg_catalog.pg_column_size(") +
             Col(c.name) + "), 0)";
  }
  width = "(" + std::to_string(fixed) + width + ")::bigint";
  std::string skeys;
  for (size_t i = 0; i < key_.size(); ++i) skeys += (i ? ", s." : "s.") + pg::QuoteIdent(key_[i]);
  return Fill("validate/plan_boundaries", {{"@SKEYS@", skeys}, {"@KEYS@", KeyList()}, {"@ORDER@", OrderList()},
                                           {"@TABLE@", Scan()}, {"@WIDTH@", width}});
}

std::string TableSql::LeafRows(const KeyRange& range, std::vector<pg::Param>& params) const {
  std::string where = RangeWhere(range, params);
  return Fill("validate/leaf_rows", {{"@KEYS@", KeyList()}, {"@TABLE@", Scan()},
                                     {"@WHERE@", where}, {"@ORDER@", OrderList()}});
}

std::string TableSql::RowHashByKey(const KeyValues& key, std::vector<pg::Param>& params) const {
  std::string eq = KeyEquals(key, params);
  return Fill("validate/row_hash_by_key", {{"@TABLE@", Scan()}, {"@KEYEQ@", eq}});
}

namespace {
std::string ColumnList(const std::vector<const catalog::ColumnInfo*>& cols, bool qualified) {
  std::string out;
  for (size_t i = 0; i < cols.size(); ++i) {
    out += (i ? ", " : "") + (qualified ? Col(cols[i]->name) : pg::QuoteIdent(cols[i]->name));
  }
  return out;
}
}  // namespace

std::string TableSql::RowByKey(const KeyValues& key, std::vector<pg::Param>& params) const {
  std::string eq = KeyEquals(key, params);
  return Fill("validate/row_by_key", {{"@COLS@", ColumnList(insertable_, true)},
                                      {"@TABLE@", Scan()}, {"@KEYEQ@", eq}});
}

std::string TableSql::RowByHash(const std::string& hash, std::vector<pg::Param>& params) const {
  params.push_back(hash);
  return Fill("validate/row_by_hash",
              {{"@COLS@", ColumnList(insertable_, true)}, {"@TABLE@", Scan()}});
}

std::string TableSql::Multiset() const {
  return Fill("validate/multiset", {{"@TABLE@", Scan()}});
}

std::string TableSql::DeleteKey(const KeyValues& key, std::vector<pg::Param>& params) const {
  std::string eq = KeyEquals(key, params);
  return Fill("validate/repair_delete_key", {{"@TABLE@", Scan()}, {"@KEYEQ@", eq}});
}

std::string TableSql::DeleteCopies(const std::string& hash, int64_t copies, std::vector<pg::Param>& params) const {
  params.push_back(hash);
  params.push_back(std::to_string(copies));
  return Fill("validate/repair_delete_copies", {{"@TABLE@", Scan()}});
}

std::string TableSql::Insert(const std::vector<pg::Param>& values, std::vector<pg::Param>& params) const {
  std::string casts;
  for (size_t i = 0; i < insertable_.size(); ++i) {
    params.push_back(values.at(i));
    casts += (i ? ", " : "") + Cast(params.size(), *insertable_[i]);
  }
  return Fill("validate/repair_insert",
              {{"@TABLE@", table_.name.Quoted()}, {"@NAMES@", ColumnList(insertable_, false)}, {"@VALUES@", casts}});
}

std::string TableSql::Update(const KeyValues& key, const std::vector<pg::Param>& values,
                             std::vector<pg::Param>& params) const {
  std::string set;
  for (size_t i = 0; i < insertable_.size(); ++i) {
    if (insertable_[i]->identity == 'a') continue;  // only DEFAULT may be written; its value is the key's anyway
    params.push_back(values.at(i));
    set += (set.empty() ? "" : ", ") + pg::QuoteIdent(insertable_[i]->name) + " = " + Cast(params.size(), *insertable_[i]);
  }
  if (set.empty()) return "";
  std::string eq = KeyEquals(key, params);
  return Fill("validate/repair_update", {{"@TABLE@", Scan()}, {"@SET@", set}, {"@KEYEQ@", eq}});
}

}  // namespace walferry::validate
