// cdc::NetTable (cdc/net_changes.h): the net change rules of batch apply, without a server.
#include "cdc/net_changes.h"

#include <gtest/gtest.h>

#include "cdc/batch_apply.h"

namespace walferry::cdc {
namespace {

// Relation (id int key, v text, doc text).
Relation Rel() {
  Relation r;
  r.relation_id = RelationId{7};
  r.namespace_name = "public";
  r.name = "t";
  r.columns = {{RelationColumn::kKeyFlag, "id", TypeOid{23}, -1},
               {0, "v", TypeOid{25}, -1},
               {0, "doc", TypeOid{25}, -1}};
  return r;
}

ColumnValue T(std::string_view s) { return {ColumnKind::kText, s}; }
ColumnValue U() { return {ColumnKind::kUnchangedToast, {}}; }
ColumnValue Null() { return {ColumnKind::kNull, {}}; }
TupleData Row(ColumnValue a, ColumnValue b, ColumnValue c) { return TupleData{{a, b, c}}; }
OldTuple Key(std::string_view id) { return {OldTupleKind::kKey, Row(T(id), Null(), Null())}; }

const NetRow& Only(const NetTable& t, NetOp op) {
  for (const NetRow& r : t.rows()) {
    if (r.op == op) return r;
  }
  throw std::runtime_error("no such row");
}

TEST(NetChanges, InsertThenUpdatesIsOneInsertWithTheMergedImage) {
  NetTable t(Rel(), {0});
  ASSERT_TRUE(t.AddInsert(Row(T("1"), T("a"), T("big"))));
  ASSERT_TRUE(t.AddUpdate(std::nullopt, Row(T("1"), T("b"), U())));
  ASSERT_EQ(t.rows().size(), 1u);
  const NetRow& r = Only(t, NetOp::kInsert);
  EXPECT_EQ(r.image[1].bytes, "b");
  EXPECT_EQ(r.image[2].kind, ColumnKind::kText);  // the unchanged TOAST value comes from the insert
  EXPECT_EQ(r.image[2].bytes, "big");
  EXPECT_EQ(t.changes(), 2u);
}

TEST(NetChanges, UpdatesMergeAndAnUnchangedValueWithoutEarlierImageStaysUnchanged) {
  NetTable t(Rel(), {0});
  ASSERT_TRUE(t.AddUpdate(std::nullopt, Row(T("1"), T("a"), U())));
  ASSERT_TRUE(t.AddUpdate(std::nullopt, Row(T("1"), T("b"), U())));
  const NetRow& r = Only(t, NetOp::kUpdate);
  EXPECT_EQ(r.image[1].bytes, "b");
  EXPECT_EQ(r.image[2].kind, ColumnKind::kUnchangedToast);
  EXPECT_TRUE(t.UnchangedIn(2));
  ASSERT_TRUE(t.AddUpdate(std::nullopt, Row(T("1"), T("c"), T("new"))));
  ASSERT_TRUE(t.AddUpdate(std::nullopt, Row(T("1"), T("d"), U())));
  EXPECT_EQ(Only(t, NetOp::kUpdate).image[2].bytes, "new");  // from the earlier image of the batch
}

TEST(NetChanges, DeleteAfterInsertLeavesNothingAfterUpdateADelete) {
  NetTable t(Rel(), {0});
  ASSERT_TRUE(t.AddInsert(Row(T("1"), T("a"), T("x"))));
  ASSERT_TRUE(t.AddDelete(Key("1").tuple));
  ASSERT_TRUE(t.AddUpdate(std::nullopt, Row(T("2"), T("a"), T("x"))));
  ASSERT_TRUE(t.AddDelete(Key("2").tuple));
  EXPECT_EQ(t.Count(NetOp::kNone), 1u);
  EXPECT_EQ(t.Count(NetOp::kDelete), 1u);
  // Inserted again after the insert and delete: an insert (the row never existed before the batch).
  ASSERT_TRUE(t.AddInsert(Row(T("1"), T("b"), T("y"))));
  EXPECT_EQ(t.Count(NetOp::kInsert), 1u);
}

TEST(NetChanges, DeleteThenInsertIsAnUpsert) {
  NetTable t(Rel(), {0});
  ASSERT_TRUE(t.AddDelete(Key("1").tuple));
  ASSERT_TRUE(t.AddInsert(Row(T("1"), T("a"), T("x"))));
  ASSERT_TRUE(t.AddUpdate(std::nullopt, Row(T("1"), T("b"), U())));
  const NetRow& r = Only(t, NetOp::kUpsert);
  EXPECT_EQ(r.image[1].bytes, "b");
  EXPECT_EQ(r.image[2].bytes, "x");
  ASSERT_TRUE(t.AddDelete(Key("1").tuple));  // upsert then delete: the row existed before, so a delete
  EXPECT_EQ(t.Count(NetOp::kDelete), 1u);
}

TEST(NetChanges, AKeyChangeIsADeleteOfTheOldKeyAndAnInsertOfTheNew) {
  NetTable t(Rel(), {0});
  ASSERT_TRUE(t.AddUpdate(Key("1"), Row(T("2"), T("a"), T("x"))));
  EXPECT_EQ(t.Count(NetOp::kDelete), 1u);
  EXPECT_EQ(Only(t, NetOp::kInsert).image[0].bytes, "2");
  // Back to key 1: key 2 was inserted in the batch (nothing), key 1 was deleted (an upsert).
  ASSERT_TRUE(t.AddUpdate(Key("2"), Row(T("1"), T("b"), T("x"))));
  EXPECT_EQ(t.Count(NetOp::kNone), 1u);
  EXPECT_EQ(Only(t, NetOp::kUpsert).image[1].bytes, "b");
}

TEST(NetChanges, AKeyChangeTakesUnchangedValuesFromAnEarlierImageAndRefusesWithoutOne) {
  NetTable t(Rel(), {0});
  // No earlier image holds doc: refused, nothing changed (the caller applies it per change).
  EXPECT_FALSE(t.AddUpdate(Key("1"), Row(T("2"), T("a"), U())));
  EXPECT_TRUE(t.rows().empty());
  ASSERT_TRUE(t.AddUpdate(std::nullopt, Row(T("1"), T("a"), T("doc"))));
  ASSERT_TRUE(t.AddUpdate(Key("1"), Row(T("2"), T("b"), U())));
  EXPECT_EQ(Only(t, NetOp::kInsert).image[2].bytes, "doc");
}

TEST(NetChanges, ChangesNoConsistentSourceSendsAreRefused) {
  NetTable t(Rel(), {0});
  ASSERT_TRUE(t.AddInsert(Row(T("1"), T("a"), T("x"))));
  EXPECT_FALSE(t.AddInsert(Row(T("1"), T("b"), T("y"))));  // the key exists
  ASSERT_TRUE(t.AddDelete(Key("3").tuple));
  EXPECT_FALSE(t.AddUpdate(std::nullopt, Row(T("3"), T("a"), T("x"))));  // deleted in the batch
  EXPECT_FALSE(t.AddDelete(Key("3").tuple));
  EXPECT_FALSE(t.AddUpdate(std::nullopt, Row(U(), T("a"), T("x"))));  // a key column not sent
  EXPECT_EQ(t.changes(), 2u);
}

TEST(NetChanges, SplitMovesTheChosenKeysRowsAndKeepsTheRest) {
  NetTable t(Rel(), {0});
  ASSERT_TRUE(t.AddInsert(Row(T("1"), T("a"), T("x"))));
  ASSERT_TRUE(t.AddUpdate(std::nullopt, Row(T("2"), T("b"), U())));
  ASSERT_TRUE(t.AddUpdate(std::nullopt, Row(T("2"), T("c"), U())));
  ASSERT_TRUE(t.AddDelete(Key("3").tuple));
  const uint64_t bytes = t.bytes();
  NetTable moved = t.Split([](const std::string& key) { return key == "1:2"; });  // key of id '2'
  ASSERT_EQ(moved.rows().size(), 1u);
  EXPECT_EQ(Only(moved, NetOp::kUpdate).image[1].bytes, "c");
  EXPECT_TRUE(moved.UnchangedIn(2));
  EXPECT_EQ(t.rows().size(), 2u);
  EXPECT_EQ(Only(t, NetOp::kInsert).image[1].bytes, "a");
  EXPECT_EQ(Only(t, NetOp::kDelete).image[0].bytes, "3");
  EXPECT_EQ(moved.bytes() + t.bytes(), bytes);
  EXPECT_EQ(moved.changes() + t.changes(), 4u);
  // Each part goes on netting its own keys.
  EXPECT_EQ(t.keys().size(), 2u);
  EXPECT_FALSE(t.keys().contains("1:2"));
  ASSERT_TRUE(moved.AddDelete(Key("2").tuple));
  EXPECT_EQ(Only(moved, NetOp::kDelete).op, NetOp::kDelete);
  ASSERT_TRUE(t.AddUpdate(std::nullopt, Row(T("1"), T("z"), U())));
  EXPECT_EQ(Only(t, NetOp::kInsert).image[2].bytes, "x");
}

TEST(NetChanges, CopyLinesEscapeValuesAndMarkNullAndUnchanged) {
  NetRow r{NetOp::kUpdate, {{ColumnKind::kText, "a\tb\\c\nd\re"}, {ColumnKind::kNull, ""},
                            {ColumnKind::kUnchangedToast, ""}}};
  std::string line;
  AppendCopyLine(line, r);
  EXPECT_EQ(line, "U\t..u\ta\\tb\\\\c\\nd\\re\t\\N\t\\N\n");
}

}  // namespace
}  // namespace walferry::cdc
