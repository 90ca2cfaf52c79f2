#include "catalog/sequence_values.h"

#include <algorithm>

namespace walferry::catalog {

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

}  // namespace walferry::catalog
