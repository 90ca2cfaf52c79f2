#include "matrix/compare.h"

#include <algorithm>
#include <map>

#include "pg/connection.h"

namespace walferry::matrix {

namespace {

pg::Connection Open(const std::string& uri, const std::string& role) {
  pg::Connection c = pg::Connection::Open(uri, {.role = role, .application_name = "matrix_compare",
                                                .client_encoding = "UTF8"});
  c.Exec("SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET TimeZone = 'UTC'; "
         "SET extra_float_digits = 1; SET lc_monetary = 'C'; SET bytea_output = 'hex'; "
         "SET default_transaction_read_only = on; SET search_path = pg_catalog");
  return c;
}

std::vector<std::string> Column(pg::Connection& c, const std::string& sql) {
  pg::Result r = c.Exec(sql);
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.IsNull(i, 0) ? "<NULL>" : std::string(r.Get(i, 0)));
  return out;
}

// Sorted by bytes: the comparison must not depend on either server's collation.
std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::string Cut(const std::string& s) { return s.size() > 240 ? s.substr(0, 240) + "..." : s; }

// Multiset difference of two sorted lists, as at most a few lines.
void DiffLists(const std::string& what, const std::vector<std::string>& src, const std::vector<std::string>& tgt,
               std::vector<std::string>& out) {
  std::vector<std::string> missing, extra;
  std::set_difference(src.begin(), src.end(), tgt.begin(), tgt.end(), std::back_inserter(missing));
  std::set_difference(tgt.begin(), tgt.end(), src.begin(), src.end(), std::back_inserter(extra));
  if (missing.empty() && extra.empty()) return;
  out.push_back(what + ": source " + std::to_string(src.size()) + " rows, target " + std::to_string(tgt.size()) +
                "; " + std::to_string(missing.size()) + " missing on the target, " + std::to_string(extra.size()) +
                " extra");
  for (size_t i = 0; i < missing.size() && i < 3; ++i) out.push_back("  missing: " + Cut(missing[i]));
  for (size_t i = 0; i < extra.size() && i < 3; ++i) out.push_back("  extra:   " + Cut(extra[i]));
}

const char* kTables =
    "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname <> $1";
const char* kSequences =
    "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'S' AND n.nspname <> $1";
const char* kXmlColumns =
    "SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = $1::regclass AND atttypid = 'xml'::regtype "
    "AND attnum > 0 AND NOT attisdropped ORDER BY attnum";
const char* kLargeObjects =
    "SELECT m.oid::text || ' ' || md5(lo_get(m.oid)) || ' ' || pg_get_userbyid(m.lomowner) "
    "FROM pg_largeobject_metadata m";

}  // namespace

std::vector<std::string> CompareDatabases(const std::string& source_uri, const std::string& target_uri,
                                          const std::string& skip_schema) {
  pg::Connection s = Open(source_uri, "source");
  pg::Connection t = Open(target_uri, "target");
  std::vector<std::string> out;
  auto names = [&](pg::Connection& c, const char* sql) {
    pg::Result r = c.Exec(sql, {skip_schema});
    std::vector<std::string> v;
    for (int i = 0; i < r.rows(); ++i) v.emplace_back(r.Get(i, 0));
    return Sorted(v);
  };
  std::vector<std::string> tables = names(s, kTables);
  std::vector<std::string> target_tables = names(t, kTables);
  DiffLists("tables", tables, target_tables, out);
  for (const std::string& table : tables) {
    if (std::find(target_tables.begin(), target_tables.end(), table) == target_tables.end()) continue;
    // The row's text hides an XML declaration a value may carry (xml_out rewrites it); xml::text shows the value
    // as stored, so xml columns are compared that way too.
    std::string sql = "SELECT ROW(r.*)::text";
    pg::Result xml = s.Exec(kXmlColumns, {table});
    for (int i = 0; i < xml.rows(); ++i) {
      sql += " || ' xml:' || coalesce(r." + std::string(xml.Get(i, 0)) + "::text, 'NULL')";
    }
    sql += " FROM ONLY " + table + " r";
    DiffLists(table, Sorted(Column(s, sql)), Sorted(Column(t, sql)), out);
  }
  std::vector<std::string> sequences = names(s, kSequences);
  std::vector<std::string> target_sequences = names(t, kSequences);
  DiffLists("sequences", sequences, target_sequences, out);
  for (const std::string& seq : sequences) {
    if (std::find(target_sequences.begin(), target_sequences.end(), seq) == target_sequences.end()) continue;
    std::string sql = "SELECT last_value::text || ' called=' || is_called::text FROM " + seq;
    std::string a = Column(s, sql).at(0), b = Column(t, sql).at(0);
    if (a != b) out.push_back("sequence " + seq + ": source " + a + ", target " + b);
  }
  DiffLists("large objects", Sorted(Column(s, kLargeObjects)), Sorted(Column(t, kLargeObjects)), out);
  return out;
}

}  // namespace walferry::matrix
