#include "load/table_groups.h"

#include <algorithm>
#include <map>
#include <numeric>

namespace walferry::load {

std::vector<std::vector<pg::TableName>> CreationGroups(const std::vector<pg::TableName>& tables,
                                                       const std::vector<std::pair<pg::TableName, pg::TableName>>& links,
                                                       int jobs) {
  std::map<pg::TableName, size_t> index;
  for (size_t i = 0; i < tables.size(); ++i) index.emplace(tables[i], i);
  // Union-find over the tables' positions.
  std::vector<size_t> parent(tables.size());
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  };
  for (const auto& [a, b] : links) {
    auto ia = index.find(a), ib = index.find(b);
    if (ia == index.end() || ib == index.end()) continue;
    parent[find(ia->second)] = find(ib->second);
  }
  std::map<size_t, std::vector<size_t>> components;  // root -> members, in table order
  for (size_t i = 0; i < tables.size(); ++i) components[find(i)].push_back(i);
  std::vector<std::vector<size_t>> sorted;
  for (auto& [root, members] : components) sorted.push_back(std::move(members));
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });

  const size_t count = std::min(sorted.size(), static_cast<size_t>(std::max(1, jobs)));
  std::vector<std::vector<size_t>> members(count);
  for (auto& component : sorted) {
    auto smallest = std::min_element(members.begin(), members.end(),
                                     [](const auto& a, const auto& b) { return a.size() < b.size(); });
    smallest->insert(smallest->end(), component.begin(), component.end());
  }
  std::vector<std::vector<pg::TableName>> out;
  for (auto& group : members) {
    std::sort(group.begin(), group.end());
    std::vector<pg::TableName> names;
    for (size_t i : group) names.push_back(tables[i]);
    out.push_back(std::move(names));
  }
  return out;
}

size_t TablesPerTransaction(int64_t lock_capacity, size_t concurrent) {
  const auto groups = static_cast<int64_t>(std::max<size_t>(concurrent, 1));
  const int64_t share = lock_capacity * 3 / 4 / (groups * kLocksPerCreatedTable);
  return static_cast<size_t>(std::max<int64_t>(share, 10));
}

}  // namespace walferry::load
