#include "assess/lob_sizes.h"

#include "pg/quote.h"
#include "sql/sql.h"

namespace walferry::assess {

namespace {

void Replace(std::string& s, const std::string& key, const std::string& value) {
  auto pos = s.find(key);
  if (pos == std::string::npos) throw Error(ErrorKind::kInternal, "assess/lob_sizes.sql has no " + key);
  s.replace(pos, key.size(), value);
}

std::string SizeExpression(const catalog::ColumnInfo& c) {
  std::string col = "t." + pg::QuoteIdent(c.name);
  if (c.type_oid != 26) return "pg_column_size(" + col + ")";
  // An oid column holds large-object references: measure the object, when it exists.
  return "CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_largeobject_metadata m WHERE m.oid = " + col +
         ") THEN octet_length(pg_catalog.lo_get(" + col + ")) END";
}

}  // namespace

void MeasureLobSizes(pg::Connection& conn, TableAssessment& t, std::optional<double> sample_percent,
                     std::optional<int64_t> limit_kb) {
  t.lob_columns.clear();
  std::string sizes, aggregates, any_over;
  for (const auto& c : t.info.columns) {
    if (!IsLobColumn(c) || c.generated) continue;
    std::string s = "s" + std::to_string(t.lob_columns.size());
    sizes += (sizes.empty() ? "" : ", ") + SizeExpression(c) + " AS " + s;
    aggregates += ", max(" + s + ") AS max_" + s + ", percentile_disc(0.99) WITHIN GROUP (ORDER BY " + s +
                  ") AS p99_" + s + ", count(*) FILTER (WHERE " + s + " > $1::bigint) AS over_" + s;
    any_over += (any_over.empty() ? "" : " OR ") + s + " > $1::bigint";
    t.lob_columns.push_back({c.name, c.type_name, c.type_oid == 26});
  }
  if (t.lob_columns.empty()) return;
  std::string query(sql::Get("assess/lob_sizes"));
  Replace(query, "{sizes}", sizes);
  Replace(query, "{aggregates}", aggregates);
  Replace(query, "{any_over_limit}", any_over);
  Replace(query, "{table}", t.info.name.Quoted());
  Replace(query, "{sample}", sample_percent ? "TABLESAMPLE SYSTEM ($2::float4)" : "");
  std::vector<pg::Param> params{limit_kb ? pg::Param(std::to_string(*limit_kb * 1024)) : std::nullopt};
  if (sample_percent) params.push_back(std::to_string(*sample_percent));
  pg::Result r = conn.Exec(query, params);
  t.rows_scanned = r.GetInt(0, r.Column("rows_scanned"));
  if (limit_kb) t.rows_over_limit = r.GetInt(0, r.Column("rows_over_limit"));
  for (size_t i = 0; i < t.lob_columns.size(); ++i) {
    std::string s = "s" + std::to_string(i);
    auto& l = t.lob_columns[i];
    auto max = r.GetOpt(0, r.Column("max_" + s));
    auto p99 = r.GetOpt(0, r.Column("p99_" + s));
    l.max_bytes = max ? std::stoll(*max) : 0;
    l.p99_bytes = p99 ? std::stoll(*p99) : 0;
    if (limit_kb) l.rows_over_limit = r.GetInt(0, r.Column("over_" + s));
  }
  t.lob_measured = true;
  t.lob_estimated = sample_percent.has_value();
}

}  // namespace walferry::assess
