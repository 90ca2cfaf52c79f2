// Unit tests of load/table_groups.h: linked tables share a group, groups are balanced, nothing lost or doubled.
#include "load/table_groups.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace walferry::load {
namespace {

pg::TableName T(const std::string& name) { return {"public", name}; }

size_t GroupOf(const std::vector<std::vector<pg::TableName>>& groups, const pg::TableName& t) {
  for (size_t g = 0; g < groups.size(); ++g) {
    if (std::find(groups[g].begin(), groups[g].end(), t) != groups[g].end()) return g;
  }
  return groups.size();
}

TEST(CreationGroups, EveryTableOnceAndBalanced) {
  std::vector<pg::TableName> tables;
  for (int i = 0; i < 10; ++i) tables.push_back(T("t" + std::to_string(i)));
  auto groups = CreationGroups(tables, {}, 3);
  ASSERT_EQ(groups.size(), 3u);
  std::multiset<pg::TableName> seen;
  for (const auto& g : groups) {
    EXPECT_GE(g.size(), 3u);
    EXPECT_LE(g.size(), 4u);
    seen.insert(g.begin(), g.end());
  }
  EXPECT_EQ(seen, std::multiset<pg::TableName>(tables.begin(), tables.end()));
}

TEST(CreationGroups, LinkedTablesShareAGroupTransitively) {
  std::vector<pg::TableName> tables = {T("parent"), T("a"), T("child"), T("b"), T("grandchild"), T("c")};
  // grandchild -> child -> parent, in either order of the pair.
  auto groups = CreationGroups(tables, {{T("child"), T("parent")}, {T("child"), T("grandchild")}}, 4);
  ASSERT_EQ(groups.size(), 4u);  // {parent, child, grandchild}, {a}, {b}, {c}
  size_t g = GroupOf(groups, T("parent"));
  EXPECT_EQ(GroupOf(groups, T("child")), g);
  EXPECT_EQ(GroupOf(groups, T("grandchild")), g);
  EXPECT_EQ(groups[g].size(), 3u);
  // In the order given (pg_dump orders by dependency anyway; the order only makes the scripts reproducible).
  EXPECT_EQ(groups[g], (std::vector<pg::TableName>{T("parent"), T("child"), T("grandchild")}));
}

TEST(CreationGroups, NeverMoreGroupsThanComponentsOrJobs) {
  std::vector<pg::TableName> tables = {T("a"), T("b"), T("c")};
  EXPECT_EQ(CreationGroups(tables, {{T("a"), T("b")}, {T("b"), T("c")}}, 8).size(), 1u);
  EXPECT_EQ(CreationGroups(tables, {}, 1).size(), 1u);
  EXPECT_EQ(CreationGroups(tables, {}, 0).size(), 1u);
  EXPECT_TRUE(CreationGroups({}, {}, 4).empty());
}

TEST(CreationGroups, LinksToTablesNotCreatedAreIgnored) {
  // The parent exists on the target already (do-nothing kept it): its children are free to go anywhere.
  std::vector<pg::TableName> tables = {T("c1"), T("c2")};
  auto groups = CreationGroups(tables, {{T("c1"), T("kept_parent")}, {T("c2"), T("kept_parent")}}, 2);
  EXPECT_EQ(groups.size(), 2u);
}

TEST(TablesPerTransaction, ThreeQuartersOfTheLockTableSharedByTheGroupsAtOnce) {
  // Defaults: 64 x (100 + 0) = 6,400 slots, 4 locks per created table.
  EXPECT_EQ(TablesPerTransaction(6400, 2), 600u);
  EXPECT_EQ(TablesPerTransaction(6400, 4), 300u);
  EXPECT_EQ(TablesPerTransaction(6400, 1), 1200u);
  EXPECT_EQ(TablesPerTransaction(6400, 0), 1200u) << "no group counts as one";
  EXPECT_EQ(TablesPerTransaction(1000, 16), 11u);
  EXPECT_EQ(TablesPerTransaction(10, 8), 10u) << "at least 10";
}

}  // namespace
}  // namespace walferry::load
