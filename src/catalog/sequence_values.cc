#include "catalog/sequence_values.h"

#include <algorithm>

#include "sql/sql.h"

namespace walferry::catalog {

std::vector<SequenceInfo> SequencesOfSchemas(pg::Connection& conn, const std::vector<std::string>& schemas) {
  pg::Result r = conn.Exec(sql::Get("catalog/sequences_of_schemas"), {pg::Param(pg::TextArray(schemas))});
  std::vector<SequenceInfo> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({pg::TableName{std::string(r.Get(i, 0)), std::string(r.Get(i, 1))}, r.GetBool(i, 2),
                   r.GetBool(i, 3), std::string(r.Get(i, 4))});
  }
  return out;
}

std::vector<SequenceValue> ReadSequenceValues(pg::Connection& conn, const std::vector<pg::TableName>& names) {
  constexpr size_t kPerQuery = 500;
  std::vector<SequenceValue> out(names.size());
  for (size_t first = 0; first < names.size(); first += kPerQuery) {
    // A relation cannot be a parameter: every name is quoted (pg::TableName::Quoted).
    std::string query;
    for (size_t i = first; i < std::min(names.size(), first + kPerQuery); ++i) {
      query += (query.empty() ? "" : " UNION ALL ") + std::string("SELECT ") + std::to_string(i) +
               ", last_value::text, is_called FROM " + names[i].Quoted();
    }
    pg::Result r = conn.Exec(query);
    for (int row = 0; row < r.rows(); ++row) {
      size_t i = static_cast<size_t>(r.GetInt(row, 0));
      out[i] = {names[i], std::string(r.Get(row, 1)), r.GetBool(row, 2)};
    }
  }
  return out;
}

void SetSequenceValues(pg::Connection& conn, const std::vector<SequenceValue>& values) {
  if (values.empty()) return;
  std::vector<std::string> schemas, names, last, called;
  for (const SequenceValue& v : values) {
    schemas.push_back(v.name.schema);
    names.push_back(v.name.name);
    last.push_back(v.last_value);
    called.push_back(v.is_called ? "true" : "false");
  }
  conn.Exec(sql::Get("catalog/set_sequences"), {pg::Param(pg::TextArray(schemas)), pg::Param(pg::TextArray(names)),
                                                 pg::Param(pg::TextArray(last)), pg::Param(pg::TextArray(called))});
}

std::vector<std::string> NextSequenceValues(pg::Connection& conn, const std::vector<SequenceValue>& values,
                                            const std::vector<std::string>& increments) {
  if (values.empty()) return {};
  std::vector<std::string> last, called;
  for (const SequenceValue& v : values) {
    last.push_back(v.last_value);
    called.push_back(v.is_called ? "true" : "false");
  }
  pg::Result r = conn.Exec(sql::Get("catalog/next_sequence_values"),
                           {pg::Param(pg::TextArray(last)), pg::Param(pg::TextArray(called)),
                            pg::Param(pg::TextArray(increments))});
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.Get(i, 0));
  return out;
}

}  // namespace walferry::catalog
