#include "catalog/catalog.h"

#include <gtest/gtest.h>

#include "support/clusters.h"

namespace walferry {
namespace {

TEST(Catalog, ListsTablesWithKeysColumnsAndPartitions) {
  std::string db = test::FreshDatabase();
  test::Source().Psql(db, R"sql(
    CREATE SCHEMA "Sales Dept";
    CREATE TABLE "Sales Dept"."Order""Items" ("Id" int PRIMARY KEY, "Note Text" text, g int GENERATED ALWAYS AS ("Id" * 2) STORED,
                                             n bigint GENERATED ALWAYS AS IDENTITY);
    CREATE TABLE nokey (a int, b text[]);
    ALTER TABLE nokey REPLICA IDENTITY FULL;
    CREATE TABLE byidx (a int NOT NULL, b int NOT NULL, c text);
    CREATE UNIQUE INDEX byidx_ab ON byidx (b, a);
    ALTER TABLE byidx REPLICA IDENTITY USING INDEX byidx_ab;
    CREATE TABLE parted (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
    CREATE TABLE parted_2024 PARTITION OF parted FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
    CREATE UNLOGGED TABLE scratch (x int);
  )sql");
  pg::Connection c = test::ConnectSource(db);
  auto all = catalog::ListTables(c);
  ASSERT_EQ(all.size(), 6u);
  const auto* items = catalog::Find(all, {"Sales Dept", "Order\"Items"});
  ASSERT_NE(items, nullptr);
  EXPECT_EQ(items->primary_key, std::vector<std::string>{"Id"});
  ASSERT_EQ(items->columns.size(), 4u);
  EXPECT_EQ(items->columns[1].name, "Note Text");
  EXPECT_TRUE(items->columns[2].generated);
  EXPECT_EQ(items->columns[3].identity, 'a');
  const auto* byidx = catalog::Find(all, {"public", "byidx"});
  EXPECT_EQ(byidx->KeyColumns(), (std::vector<std::string>{"b", "a"}));
  const auto* nokey = catalog::Find(all, {"public", "nokey"});
  EXPECT_TRUE(nokey->KeyColumns().empty());
  EXPECT_EQ(nokey->replica_identity, 'f');
  EXPECT_EQ(nokey->columns[1].type_category, 'A');
  const auto* part = catalog::Find(all, {"public", "parted_2024"});
  ASSERT_TRUE(part->is_partition);
  EXPECT_EQ(part->parent->name, "parted");

  auto selected = catalog::SelectTables(all, {});
  std::vector<std::string> names;
  for (const auto& t : selected) names.push_back(t.name.Display());
  EXPECT_EQ(names, (std::vector<std::string>{"\"Sales Dept\".\"Order\"\"Items\"", "public.byidx", "public.nokey",
                                             "public.parted"}));
  EXPECT_THROW(catalog::SelectTables(all, {{"nosuch", "%", true}}), Error);
}

}  // namespace
}  // namespace walferry
