#include "validate/whole_table_groups.h"

namespace walferry::validate {

std::vector<std::vector<size_t>> WholeTableGroups(const std::vector<const catalog::TableInfo*>& tables,
                                                  int64_t range_rows, int64_t range_bytes) {
  std::vector<std::vector<size_t>> groups;
  double rows = 0, bytes = 0;
  for (size_t i = 0; i < tables.size(); ++i) {
    const catalog::TableInfo& t = *tables[i];
    if (groups.empty() || groups.back().size() >= kMaxTablesPerGroup ||
        rows + t.estimated_rows > static_cast<double>(range_rows) ||
        bytes + static_cast<double>(t.heap_bytes) > static_cast<double>(range_bytes)) {
      groups.emplace_back();
      rows = bytes = 0;
    }
    groups.back().push_back(i);
    rows += t.estimated_rows;
    bytes += static_cast<double>(t.heap_bytes);
  }
  return groups;
}

}  // namespace walferry::validate
