#include "catalog/catalog.h"

#include <map>

#include "sql/sql.h"

namespace walferry::catalog {

namespace {
// Parses a text[] value as libpq returns it ({a,"b c"}); identifiers may be quoted with backslash escapes.
std::vector<std::string> ParseTextArray(std::string_view s) {
  std::vector<std::string> out;
  if (s.size() < 2 || s.front() != '{' || s.back() != '}') {
    throw Error(ErrorKind::kProtocol, "malformed text[] value from the catalog: " + std::string(s));
  }
  size_t i = 1;
  while (i < s.size() - 1) {
    std::string item;
    if (s[i] == '"') {
      ++i;
      while (i < s.size() - 1 && s[i] != '"') {
        if (s[i] == '\\') ++i;
        item += s[i++];
      }
      ++i;
    } else {
      while (i < s.size() - 1 && s[i] != ',') item += s[i++];
    }
    out.push_back(std::move(item));
    if (i < s.size() - 1 && s[i] == ',') ++i;
  }
  return out;
}

char FirstChar(std::string_view s) { return s.empty() ? 0 : s[0]; }
}  // namespace

std::vector<std::string> TableInfo::KeyColumns() const {
  // With REPLICA IDENTITY FULL or NOTHING the primary key (if any) still identifies rows for validation.
  if (replica_identity == 'i' && !replica_identity_index.empty()) return replica_identity_index;
  return primary_key;
}

const ColumnInfo* TableInfo::FindColumn(const std::string& column) const {
  for (const auto& c : columns) {
    if (c.name == column) return &c;
  }
  return nullptr;
}

std::vector<TableInfo> ListTables(pg::Connection& conn, const std::string& exclude_schema, Sizes sizes) {
  return WithContext("listing tables on the " + conn.role(), [&] {
    pg::Result r = conn.Exec(sql::Get("catalog/tables"),
                             {pg::Param(exclude_schema), pg::Param(sizes == Sizes::kSkipped ? "false" : "true"),
                              pg::Param(sizes == Sizes::kData ? "true" : "false")});
    std::vector<TableInfo> tables;
    std::map<uint32_t, size_t> by_oid;
    std::string oids = "{";
    for (int i = 0; i < r.rows(); ++i) {
      TableInfo t;
      t.oid = static_cast<uint32_t>(r.GetInt(i, r.Column("oid")));
      t.name = {std::string(r.Get(i, r.Column("schema_name"))), std::string(r.Get(i, r.Column("table_name")))};
      t.relkind = FirstChar(r.Get(i, r.Column("relkind")));
      t.persistence = FirstChar(r.Get(i, r.Column("persistence")));
      t.is_partition = r.GetBool(i, r.Column("is_partition"));
      if (auto ps = r.GetOpt(i, r.Column("parent_schema"))) {
        t.parent = pg::TableName{*ps, *r.GetOpt(i, r.Column("parent_name"))};
      }
      t.replica_identity = FirstChar(r.Get(i, r.Column("replica_identity")));
      t.heap_bytes = r.GetInt(i, r.Column("heap_bytes"));
      t.toast_bytes = r.GetInt(i, r.Column("toast_bytes"));
      t.index_bytes = r.GetInt(i, r.Column("index_bytes"));
      t.estimated_rows = std::stod(std::string(r.Get(i, r.Column("estimated_rows"))));
      t.estimated_rows_known = r.GetBool(i, r.Column("estimated_rows_known"));
      t.pages = r.GetInt(i, r.Column("pages"));
      if (auto pk = r.GetOpt(i, r.Column("primary_key"))) t.primary_key = ParseTextArray(*pk);
      if (auto ri = r.GetOpt(i, r.Column("replica_identity_index"))) t.replica_identity_index = ParseTextArray(*ri);
      by_oid[t.oid] = tables.size();
      oids += (tables.empty() ? "" : ",") + std::to_string(t.oid);
      tables.push_back(std::move(t));
    }
    oids += "}";
    pg::Result cols = conn.Exec(sql::Get("catalog/columns"), {pg::Param(oids)});
    for (int i = 0; i < cols.rows(); ++i) {
      ColumnInfo c;
      c.name = std::string(cols.Get(i, cols.Column("column_name")));
      c.attnum = static_cast<int>(cols.GetInt(i, cols.Column("attnum")));
      c.type_name = std::string(cols.Get(i, cols.Column("type_name")));
      c.type_oid = static_cast<uint32_t>(cols.GetInt(i, cols.Column("type_oid")));
      c.type_category = FirstChar(cols.Get(i, cols.Column("type_category")));
      c.type_kind = FirstChar(cols.Get(i, cols.Column("type_kind")));
      c.type_schema = std::string(cols.Get(i, cols.Column("type_schema")));
      c.not_null = cols.GetBool(i, cols.Column("not_null"));
      // 's' (stored) on every version; 'v' (virtual, computed at read time) from PostgreSQL 18
      // (pg::ServerFeatures::virtual_generated_columns): neither is copied nor published; the target computes both.
      c.generated = FirstChar(cols.Get(i, cols.Column("generated"))) != '\0';
      c.identity = FirstChar(cols.Get(i, cols.Column("identity")));
      c.has_binary_io = cols.GetBool(i, cols.Column("has_binary_io"));
      auto oid = static_cast<uint32_t>(cols.GetInt(i, cols.Column("table_oid")));
      tables[by_oid.at(oid)].columns.push_back(std::move(c));
    }
    return tables;
  });
}

std::vector<TableInfo> SelectTables(const std::vector<TableInfo>& all, const std::vector<config::SelectionRule>& rules) {
  std::vector<TableInfo> out;
  for (const auto& t : all) {
    if (t.is_partition || t.persistence != 'p') continue;
    if (config::Selected(rules, t.name)) out.push_back(t);
  }
  if (out.empty()) {
    throw Error(ErrorKind::kConfig, "the table selection rules select no table on the source")
        .WithHint("check include/exclude patterns in walferry.yaml (e.g. include: [\"public.%\"])");
  }
  return out;
}

const TableInfo* Find(const std::vector<TableInfo>& tables, const pg::TableName& name) {
  for (const auto& t : tables) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

}  // namespace walferry::catalog
