// Unit tests of validate/whole_table_groups.h: groups of small tables bounded by 100 tables, range_rows and
// range_bytes; every table once, in order.
#include "validate/whole_table_groups.h"

#include <gtest/gtest.h>

namespace walferry::validate {
namespace {

std::vector<catalog::TableInfo> Tables(size_t n, double rows, int64_t heap_bytes) {
  std::vector<catalog::TableInfo> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i].name = {"public", "t" + std::to_string(i)};
    out[i].estimated_rows = rows;
    out[i].heap_bytes = heap_bytes;
  }
  return out;
}

std::vector<const catalog::TableInfo*> Pointers(const std::vector<catalog::TableInfo>& tables) {
  std::vector<const catalog::TableInfo*> out;
  for (const auto& t : tables) out.push_back(&t);
  return out;
}

std::vector<size_t> Sizes(const std::vector<std::vector<size_t>>& groups) {
  std::vector<size_t> out;
  for (const auto& g : groups) out.push_back(g.size());
  return out;
}

// Every index exactly once, in order.
void ExpectEveryTableOnceInOrder(const std::vector<std::vector<size_t>>& groups, size_t n) {
  size_t next = 0;
  for (const auto& g : groups) {
    EXPECT_FALSE(g.empty());
    for (size_t i : g) EXPECT_EQ(i, next++);
  }
  EXPECT_EQ(next, n);
}

TEST(WholeTableGroups, AtMostOneHundredTablesPerGroup) {
  auto tables = Tables(250, 10, 8192);
  auto groups = WholeTableGroups(Pointers(tables), 1'000'000, int64_t{1} << 40);
  EXPECT_EQ(Sizes(groups), (std::vector<size_t>{100, 100, 50}));
  ExpectEveryTableOnceInOrder(groups, 250);
}

TEST(WholeTableGroups, BoundedByRangeRows) {
  auto tables = Tables(10, 400, 8192);  // 400 rows each, range_rows 1000: two tables per group, never three
  auto groups = WholeTableGroups(Pointers(tables), 1000, int64_t{1} << 40);
  EXPECT_EQ(Sizes(groups), (std::vector<size_t>{2, 2, 2, 2, 2}));
  ExpectEveryTableOnceInOrder(groups, 10);
}

TEST(WholeTableGroups, BoundedByRangeBytes) {
  auto tables = Tables(7, 1, 3 * 8192);  // 24 kB each, range_bytes 64 kB: two per group
  auto groups = WholeTableGroups(Pointers(tables), 1'000'000, 64 * 1024);
  EXPECT_EQ(Sizes(groups), (std::vector<size_t>{2, 2, 2, 1}));
  ExpectEveryTableOnceInOrder(groups, 7);
}

TEST(WholeTableGroups, ATableOverABoundIsAGroupOfItsOwn) {
  auto tables = Tables(3, 10, 8192);
  tables[1].estimated_rows = 5000;  // over range_rows alone
  auto groups = WholeTableGroups(Pointers(tables), 1000, int64_t{1} << 40);
  EXPECT_EQ(Sizes(groups), (std::vector<size_t>{1, 1, 1}));
  ExpectEveryTableOnceInOrder(groups, 3);
  EXPECT_TRUE(WholeTableGroups({}, 1000, 1000).empty());
}

}  // namespace
}  // namespace walferry::validate
