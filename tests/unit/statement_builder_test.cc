// The SQL that applies one row change: identifiers quoted, values as parameters cast to the target column's type,
// unchanged TOAST left out, REPLICA IDENTITY FULL touching exactly the one IDENTICAL row (by the target's unique
// key when it has one), ONLY unless the target is partitioned, target GENERATED ALWAYS identity columns never in
// SET; and which source/target type pairs carry every value exactly.
#include <gtest/gtest.h>

#include "cdc/statement_builder.h"
#include "cdc/target_columns.h"
#include "common/error.h"

namespace walferry::cdc {
namespace {

Relation Rel(ReplicaIdentity ident = ReplicaIdentity::kDefault) {
  Relation r;
  r.relation_id = RelationId{16384};
  r.namespace_name = "Sales Dept";
  r.name = "Order\"Items";
  r.replica_identity = ident;
  bool full = ident == ReplicaIdentity::kFull;
  r.columns = {{1, "id", TypeOid{23}, -1}, {static_cast<uint8_t>(full ? 1 : 0), "Big", TypeOid{25}, -1},
               {static_cast<uint8_t>(full ? 1 : 0), "doc", TypeOid{114}, -1}};
  return r;
}

TupleData Tuple(std::vector<ColumnKind> kinds) {
  TupleData t;
  for (ColumnKind k : kinds) t.columns.push_back({k, k == ColumnKind::kText ? "v" : ""});
  return t;
}

TEST(StatementBuilder, InsertQuotesIdentifiersAndOverridesIdentity) {
  Relation r = Rel();
  Insert ins{std::nullopt, r.relation_id, Tuple({ColumnKind::kText, ColumnKind::kNull, ColumnKind::kText})};
  BuiltStatement s = BuildStatement(r, {}, ShapeFor(r, ins, {}));
  EXPECT_EQ(s.sql, "INSERT INTO \"Sales Dept\".\"Order\"\"Items\" (\"id\", \"Big\", \"doc\") OVERRIDING SYSTEM VALUE "
                   "VALUES ($1, $2, $3)");
  EXPECT_EQ(s.nparams, 3);
}

TEST(StatementBuilder, UpdateLeavesUnchangedToastAndUnchangedKeyOutOfSet) {
  Relation r = Rel();
  Update up{std::nullopt, r.relation_id, std::nullopt,
            Tuple({ColumnKind::kText, ColumnKind::kUnchangedToast, ColumnKind::kText})};
  StatementShape shape = ShapeFor(r, up, {});
  EXPECT_EQ(BuildStatement(r, {}, shape).sql, "UPDATE \"Sales Dept\".\"Order\"\"Items\" SET \"doc\" = $1 WHERE \"id\" = $2");
}

TEST(StatementBuilder, UpdateWithChangedKeyFindsRowByOldKey) {
  Relation r = Rel();
  Update up{std::nullopt, r.relation_id,
            OldTuple{OldTupleKind::kKey, Tuple({ColumnKind::kText, ColumnKind::kNull, ColumnKind::kNull})},
            Tuple({ColumnKind::kText, ColumnKind::kText, ColumnKind::kText})};
  StatementShape shape = ShapeFor(r, up, {});
  EXPECT_EQ(shape.set_cols, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(shape.where_cols, (std::vector<int>{0}));
}

TEST(StatementBuilder, FullIdentityDeleteTouchesExactlyOneRow) {
  Relation r = Rel(ReplicaIdentity::kFull);
  Delete del{std::nullopt, r.relation_id,
             OldTuple{OldTupleKind::kFull, Tuple({ColumnKind::kText, ColumnKind::kNull, ColumnKind::kText})}};
  std::string sql = BuildStatement(r, {}, ShapeFor(r, del, {})).sql;
  EXPECT_NE(sql.find("ROW(\"id\", \"Big\", \"doc\")::record *= ROW($1, $2, $3)::record"), std::string::npos) << sql;
  EXPECT_NE(sql.find("LIMIT 1"), std::string::npos) << sql;
  EXPECT_NE(sql.find("walferry_t.ctid = walferry_row.tid"), std::string::npos) << sql;
}

TEST(StatementBuilder, ChangeWithoutIdentityIsRejected) {
  Relation r = Rel(ReplicaIdentity::kNothing);
  r.columns[0].flags = 0;
  Update up{std::nullopt, r.relation_id, std::nullopt, Tuple({ColumnKind::kText, ColumnKind::kText, ColumnKind::kText})};
  EXPECT_THROW(ShapeFor(r, up, {}), Error);
}

// id key, v text, n: a GENERATED ALWAYS identity column on the target (index 2).
Relation IdentRel(ReplicaIdentity ident = ReplicaIdentity::kDefault) {
  Relation r;
  r.relation_id = RelationId{16385};
  r.namespace_name = "public";
  r.name = "b";
  r.replica_identity = ident;
  uint8_t other = ident == ReplicaIdentity::kFull ? 1 : 0;
  r.columns = {{1, "id", TypeOid{23}, -1}, {other, "v", TypeOid{25}, -1}, {other, "n", TypeOid{23}, -1}};
  return r;
}

TargetDescription AlwaysIdentity(std::vector<int> cols) {
  TargetDescription d;
  d.always_identity = std::move(cols);
  return d;
}

const TargetDescription kAlwaysN = AlwaysIdentity({2});

TupleData Values(std::vector<std::optional<std::string_view>> vals) {
  TupleData t;
  for (auto v : vals) t.columns.push_back(v ? ColumnValue{ColumnKind::kText, *v} : ColumnValue{ColumnKind::kNull, ""});
  return t;
}

TEST(StatementBuilder, UpdateLeavesNonKeyAlwaysIdentityOutOfSetAndGuardsItsNewValue) {
  Relation r = IdentRel();
  Update up{std::nullopt, r.relation_id, std::nullopt, Values({"1", "u", "7"})};
  StatementShape shape = ShapeFor(r, up, kAlwaysN);
  EXPECT_EQ(shape.set_cols, (std::vector<int>{1}));
  EXPECT_EQ(shape.where_cols, (std::vector<int>{0}));
  EXPECT_EQ(shape.guard_cols, (std::vector<int>{2}));
  EXPECT_FALSE(shape.identity_changed);
  BuiltStatement b = BuildStatement(r, {}, shape);
  EXPECT_EQ(b.sql, "UPDATE \"public\".\"b\" SET \"v\" = $1 WHERE \"id\" = $2 AND \"n\" = $3");
  EXPECT_EQ(b.nparams, 3);
  NoRowExplanation why = ExplainNoRow(r, shape);
  EXPECT_NE(why.message.find("GENERATED ALWAYS identity column \"n\""), std::string::npos) << why.message;
  EXPECT_NE(why.hint.find("ALTER TABLE \"public\".\"b\" ALTER COLUMN \"n\" SET GENERATED BY DEFAULT"),
            std::string::npos)
      << why.hint;
  EXPECT_NE(why.hint.find("walferry validate"), std::string::npos) << why.hint;  // it may also be a missing row
}

TEST(StatementBuilder, WithoutTargetIdentityTheColumnIsWrittenAndNotGuarded) {
  Relation r = IdentRel();
  Update up{std::nullopt, r.relation_id, std::nullopt, Values({"1", "u", "7"})};
  StatementShape shape = ShapeFor(r, up, {});
  EXPECT_EQ(shape.set_cols, (std::vector<int>{1, 2}));
  EXPECT_TRUE(shape.guard_cols.empty());
  EXPECT_EQ(ExplainNoRow(r, shape).message, "");
  EXPECT_NE(shape.Key(), ShapeFor(r, up, kAlwaysN).Key());
}

TEST(StatementBuilder, KeyChangeFindsRowByOldKeyAndGuardsIdentityWithNewValue) {
  Relation r = IdentRel();
  // Old 'K' tuple: the key's old value, other columns NULL.
  Update up{std::nullopt, r.relation_id, OldTuple{OldTupleKind::kKey, Values({"1", std::nullopt, std::nullopt})},
            Values({"2", "u", "7"})};
  StatementShape shape = ShapeFor(r, up, kAlwaysN);
  EXPECT_EQ(BuildStatement(r, {}, shape).sql,
            "UPDATE \"public\".\"b\" SET \"id\" = $1, \"v\" = $2 WHERE \"id\" = $3 AND \"n\" = $4");
  EXPECT_FALSE(shape.identity_changed);  // the old value of n is not sent: unknown
}

TEST(StatementBuilder, FullIdentityWithUnchangedAlwaysIdentityLeavesItOut) {
  Relation r = IdentRel(ReplicaIdentity::kFull);
  Update up{std::nullopt, r.relation_id, OldTuple{OldTupleKind::kFull, Values({"1", "a", "7"})},
            Values({"1", "b", "7"})};
  StatementShape shape = ShapeFor(r, up, kAlwaysN);
  EXPECT_EQ(shape.set_cols, (std::vector<int>{0, 1}));
  EXPECT_EQ(shape.where_cols, (std::vector<int>{0, 1, 2}));  // the old n is compared there already
  EXPECT_TRUE(shape.guard_cols.empty());
  std::string sql = BuildStatement(r, {}, shape).sql;
  EXPECT_EQ(sql.find("\"n\" ="), std::string::npos) << sql;
  EXPECT_NE(sql.find("ROW(\"id\", \"v\", \"n\")::record *= ROW($3, $4, $5)::record"), std::string::npos) << sql;
}

TEST(StatementBuilder, FullIdentityWithChangedAlwaysIdentityCannotMatchAndSaysWhy) {
  Relation r = IdentRel(ReplicaIdentity::kFull);
  Update up{std::nullopt, r.relation_id, OldTuple{OldTupleKind::kFull, Values({"1", "a", "7"})},
            Values({"1", "a", "8"})};
  StatementShape shape = ShapeFor(r, up, kAlwaysN);
  EXPECT_EQ(shape.guard_cols, (std::vector<int>{2}));
  EXPECT_TRUE(shape.identity_changed);
  BuiltStatement b = BuildStatement(r, {}, shape);
  // Old n in the row lookup ($5), new n as the guard ($6): never both true.
  EXPECT_NE(b.sql.find("ROW($3, $4, $5)::record AND \"n\" = $6 LIMIT 1"), std::string::npos) << b.sql;
  EXPECT_EQ(b.nparams, 6);
  NoRowExplanation why = ExplainNoRow(r, shape);
  EXPECT_NE(why.message.find("the source changed the GENERATED ALWAYS identity column \"n\" of public.b"),
            std::string::npos)
      << why.message;
  EXPECT_NE(why.hint.find("SET GENERATED BY DEFAULT"), std::string::npos) << why.hint;
  // The "changed for certain" statement is prepared apart from the "maybe" one.
  Update same{std::nullopt, r.relation_id, OldTuple{OldTupleKind::kFull, Values({"1", "a", "7"})},
              Values({"1", "b", "7"})};
  EXPECT_NE(shape.Key(), ShapeFor(r, same, kAlwaysN).Key());
}

TEST(StatementBuilder, ChangedAlwaysIdentityKeyIsGuardedNotWritten) {
  Relation r = IdentRel();
  const TargetDescription always_id = AlwaysIdentity({0});  // the key itself is the ALWAYS identity
  Update up{std::nullopt, r.relation_id, OldTuple{OldTupleKind::kKey, Values({"3", std::nullopt, std::nullopt})},
            Values({"11", "x", "5"})};
  StatementShape shape = ShapeFor(r, up, always_id);
  EXPECT_EQ(BuildStatement(r, {}, shape).sql,
            "UPDATE \"public\".\"b\" SET \"v\" = $1, \"n\" = $2 WHERE \"id\" = $3 AND \"id\" = $4");
  EXPECT_TRUE(shape.identity_changed);
  // The same key unchanged (no old tuple): left out of SET, no guard (today's behaviour for any key).
  Update same{std::nullopt, r.relation_id, std::nullopt, Values({"3", "x", "5"})};
  StatementShape s2 = ShapeFor(r, same, always_id);
  EXPECT_EQ(s2.set_cols, (std::vector<int>{1, 2}));
  EXPECT_TRUE(s2.guard_cols.empty());
}

TEST(StatementBuilder, UpdateWritingNothingAssignsANonIdentityColumnToItself) {
  Relation r = IdentRel();
  const TargetDescription always_id = AlwaysIdentity({0});
  // Key unchanged, v and n unchanged TOAST: nothing to write, and the key may not be written.
  TupleData t = Values({"3", std::nullopt, std::nullopt});
  t.columns[1].kind = t.columns[2].kind = ColumnKind::kUnchangedToast;
  Update up{std::nullopt, r.relation_id, std::nullopt, t};
  BuiltStatement b = BuildStatement(r, {}, ShapeFor(r, up, always_id));
  EXPECT_EQ(b.sql, "UPDATE \"public\".\"b\" SET \"v\" = \"v\" WHERE \"id\" = $1");
  EXPECT_EQ(b.nparams, 1);
  // Without identity columns the key column is the one assigned to itself.
  EXPECT_EQ(BuildStatement(r, {}, ShapeFor(r, up, {})).sql, "UPDATE \"public\".\"b\" SET \"id\" = \"id\" WHERE \"id\" = $1");
}

// The target of Rel(): every column's type known, an ordinary table.
TargetDescription Described(char relkind = 'r') {
  TargetDescription d;
  d.found = true;
  d.relkind = relkind;
  d.types = {"integer", "text", "json"};
  return d;
}

TEST(StatementBuilder, FullIdentityComparesTheOldImageNotEqualityWithTargetTypes) {
  Relation r = Rel(ReplicaIdentity::kFull);
  Delete del{std::nullopt, r.relation_id,
             OldTuple{OldTupleKind::kFull, Tuple({ColumnKind::kText, ColumnKind::kNull, ColumnKind::kText})}};
  TargetDescription t = Described();
  std::string sql = BuildStatement(r, t, ShapeFor(r, del, t)).sql;
  // Binary images (1.0 vs 1.00, 0 vs -0, NFC vs NFD differ; NULL matches NULL), typed placeholders.
  EXPECT_EQ(sql, "WITH walferry_row AS (SELECT tableoid AS toid, ctid AS tid FROM ONLY \"Sales Dept\".\"Order\"\"Items\" "
                 "WHERE ROW(\"id\", \"Big\", \"doc\")::record *= ROW($1::integer, $2::text, $3::json)::record LIMIT 1) "
                 "DELETE FROM ONLY \"Sales Dept\".\"Order\"\"Items\" AS walferry_t USING walferry_row WHERE "
                 "walferry_t.tableoid = walferry_row.toid AND walferry_t.ctid = walferry_row.tid");
  EXPECT_EQ(sql.find("IS NOT DISTINCT FROM"), std::string::npos);
}

TEST(StatementBuilder, FullIdentityFindsTheRowByTheTargetsUniqueKeyAndStillComparesTheImage) {
  Relation r = Rel(ReplicaIdentity::kFull);
  TargetDescription t = Described();
  t.unique_key = {0};
  Delete del{std::nullopt, r.relation_id,
             OldTuple{OldTupleKind::kFull, Tuple({ColumnKind::kText, ColumnKind::kNull, ColumnKind::kText})}};
  StatementShape shape = ShapeFor(r, del, t);
  EXPECT_EQ(shape.key_cols, (std::vector<int>{0}));
  EXPECT_EQ(BuildStatement(r, t, shape).sql,
            "DELETE FROM ONLY \"Sales Dept\".\"Order\"\"Items\" WHERE \"id\" = $1::integer AND "
            "ROW(\"id\", \"Big\", \"doc\")::record *= ROW($1::integer, $2::text, $3::json)::record");
  Update up{std::nullopt, r.relation_id,
            OldTuple{OldTupleKind::kFull, Tuple({ColumnKind::kText, ColumnKind::kText, ColumnKind::kText})},
            Tuple({ColumnKind::kText, ColumnKind::kText, ColumnKind::kText})};
  StatementShape us = ShapeFor(r, up, t);
  BuiltStatement b = BuildStatement(r, t, us);
  EXPECT_EQ(b.sql, "UPDATE ONLY \"Sales Dept\".\"Order\"\"Items\" SET \"id\" = $1::integer, \"Big\" = $2::text, "
                   "\"doc\" = $3::json WHERE \"id\" = $4::integer AND "
                   "ROW(\"id\", \"Big\", \"doc\")::record *= ROW($4::integer, $5::text, $6::json)::record");
  EXPECT_EQ(b.nparams, 6);
  // Another statement than the one-row CTE of a table without a key.
  EXPECT_NE(us.Key(), ShapeFor(r, up, Described()).Key());
}

TEST(StatementBuilder, FullIdentityFallsBackToOneRowWhenTheOldTupleLacksAKeyValue) {
  Relation r = Rel(ReplicaIdentity::kFull);
  TargetDescription t = Described();
  t.unique_key = {0, 1};
  // "Big" is NULL (cannot be a NOT NULL key's value: the target differs) or unchanged TOAST: not found by key.
  for (ColumnKind k : {ColumnKind::kNull, ColumnKind::kUnchangedToast}) {
    Delete del{std::nullopt, r.relation_id, OldTuple{OldTupleKind::kFull, Tuple({ColumnKind::kText, k, ColumnKind::kText})}};
    StatementShape shape = ShapeFor(r, del, t);
    EXPECT_TRUE(shape.key_cols.empty());
    EXPECT_NE(BuildStatement(r, t, shape).sql.find("LIMIT 1"), std::string::npos);
  }
}

TEST(StatementBuilder, EveryPlaceholderIsCastToTheTargetColumnsType) {
  Relation r = Rel();
  TargetDescription t = Described();
  t.types[0] = "\"Sales Dept\".\"Point 3\"";  // a composite key: an untyped parameter cannot be read
  Insert ins{std::nullopt, r.relation_id, Tuple({ColumnKind::kText, ColumnKind::kNull, ColumnKind::kText})};
  EXPECT_EQ(BuildStatement(r, t, ShapeFor(r, ins, t)).sql,
            "INSERT INTO \"Sales Dept\".\"Order\"\"Items\" (\"id\", \"Big\", \"doc\") OVERRIDING SYSTEM VALUE VALUES "
            "($1::\"Sales Dept\".\"Point 3\", $2::text, $3::json)");
  Update up{std::nullopt, r.relation_id, std::nullopt, Tuple({ColumnKind::kText, ColumnKind::kText, ColumnKind::kText})};
  EXPECT_EQ(BuildStatement(r, t, ShapeFor(r, up, t)).sql,
            "UPDATE ONLY \"Sales Dept\".\"Order\"\"Items\" SET \"Big\" = $1::text, \"doc\" = $2::json "
            "WHERE \"id\" = $3::\"Sales Dept\".\"Point 3\"");
  Delete del{std::nullopt, r.relation_id,
             OldTuple{OldTupleKind::kKey, Tuple({ColumnKind::kText, ColumnKind::kNull, ColumnKind::kNull})}};
  EXPECT_EQ(BuildStatement(r, t, ShapeFor(r, del, t)).sql,
            "DELETE FROM ONLY \"Sales Dept\".\"Order\"\"Items\" WHERE \"id\" = $1::\"Sales Dept\".\"Point 3\"");
  // A column the target lacks (or an unknown table) keeps an untyped placeholder: the target names the problem.
  t.types[2].clear();
  EXPECT_NE(BuildStatement(r, t, ShapeFor(r, ins, t)).sql.find("$2::text, $3)"), std::string::npos);
}

TEST(StatementBuilder, OnlyTheNamedTableUnlessTheTargetIsPartitioned) {
  Relation r = Rel();
  Update up{std::nullopt, r.relation_id, std::nullopt, Tuple({ColumnKind::kText, ColumnKind::kText, ColumnKind::kText})};
  Delete del{std::nullopt, r.relation_id,
             OldTuple{OldTupleKind::kKey, Tuple({ColumnKind::kText, ColumnKind::kNull, ColumnKind::kNull})}};
  TargetDescription parent = Described('r');  // maybe a legacy inheritance parent: its children are not its rows
  EXPECT_EQ(BuildStatement(r, parent, ShapeFor(r, up, parent)).sql.rfind("UPDATE ONLY ", 0), 0u);
  EXPECT_EQ(BuildStatement(r, parent, ShapeFor(r, del, parent)).sql.rfind("DELETE FROM ONLY ", 0), 0u);
  TargetDescription root = Described('p');  // a partitioned root routes to its partitions
  EXPECT_EQ(BuildStatement(r, root, ShapeFor(r, up, root)).sql.find("ONLY"), std::string::npos);
  EXPECT_EQ(BuildStatement(r, root, ShapeFor(r, del, root)).sql.find("ONLY"), std::string::npos);
  Relation full = Rel(ReplicaIdentity::kFull);
  Delete fdel{std::nullopt, full.relation_id,
              OldTuple{OldTupleKind::kFull, Tuple({ColumnKind::kText, ColumnKind::kText, ColumnKind::kText})}};
  std::string sql = BuildStatement(full, parent, ShapeFor(full, fdel, parent)).sql;
  EXPECT_NE(sql.find("FROM ONLY \"Sales Dept\".\"Order\"\"Items\" WHERE ROW("), std::string::npos) << sql;
  EXPECT_NE(sql.find("DELETE FROM ONLY \"Sales Dept\".\"Order\"\"Items\" AS walferry_t"), std::string::npos) << sql;
}

constexpr int32_t Numeric(int precision, int scale) { return ((precision << 16) | scale) + 4; }
constexpr int32_t Chars(int n) { return n + 4; }

TEST(TargetColumns, OnlyTypePairsThatCarryEveryValueExactlyAreAccepted) {
  const TypeOid int2{21}, int4{23}, int8{20}, f4{700}, f8{701}, numeric{1700}, text{25}, varchar{1043}, bpchar{1042},
      ts{1114}, interval{1186}, user{16500};
  EXPECT_TRUE(CarriesExactly(int4, -1, int4, -1));
  EXPECT_TRUE(CarriesExactly(int2, -1, int4, -1));
  EXPECT_TRUE(CarriesExactly(int4, -1, int8, -1));
  EXPECT_TRUE(CarriesExactly(f4, -1, f8, -1));
  EXPECT_TRUE(CarriesExactly(varchar, Chars(5), text, -1));
  EXPECT_TRUE(CarriesExactly(bpchar, Chars(3), text, -1));
  EXPECT_TRUE(CarriesExactly(varchar, Chars(5), varchar, Chars(10)));
  EXPECT_TRUE(CarriesExactly(varchar, Chars(5), varchar, -1));
  EXPECT_TRUE(CarriesExactly(numeric, Numeric(10, 2), numeric, Numeric(12, 2)));
  EXPECT_TRUE(CarriesExactly(numeric, Numeric(10, 2), numeric, -1));
  EXPECT_TRUE(CarriesExactly(int8, -1, numeric, -1));
  EXPECT_TRUE(CarriesExactly(ts, 3, ts, 6));
  EXPECT_TRUE(CarriesExactly(user, -1, text, -1));  // not checked: compared by oid only for built-in types
  // Rounded, truncated or padded: refused.
  EXPECT_FALSE(CarriesExactly(numeric, Numeric(12, 4), numeric, Numeric(10, 2)));
  EXPECT_FALSE(CarriesExactly(numeric, Numeric(10, 2), numeric, Numeric(12, 3)));  // 1.50 would become 1.500
  EXPECT_FALSE(CarriesExactly(numeric, -1, numeric, Numeric(10, 2)));
  EXPECT_FALSE(CarriesExactly(numeric, Numeric(12, 2), numeric, Numeric(10, 2)));
  EXPECT_FALSE(CarriesExactly(int8, -1, int4, -1));
  EXPECT_FALSE(CarriesExactly(f8, -1, f4, -1));
  EXPECT_FALSE(CarriesExactly(varchar, Chars(10), varchar, Chars(5)));
  EXPECT_FALSE(CarriesExactly(text, -1, varchar, Chars(5)));
  EXPECT_FALSE(CarriesExactly(bpchar, Chars(3), bpchar, Chars(5)));
  EXPECT_FALSE(CarriesExactly(ts, 6, ts, 0));
  EXPECT_FALSE(CarriesExactly(ts, -1, ts, 3));
  EXPECT_FALSE(CarriesExactly(interval, 0x7fff0000, interval, 0x7fff0002));
  EXPECT_FALSE(CarriesExactly(int4, -1, numeric, Numeric(5, 0)));
  EXPECT_FALSE(CarriesExactly(text, -1, int4, -1));
}

TEST(TargetColumns, ColumnIndexesMatchExactNamesInRelationOrder) {
  Relation r = IdentRel();
  EXPECT_EQ(ColumnIndexes(r, {"n", "ID", "missing", "id"}), (std::vector<int>{0, 2}));
  EXPECT_TRUE(ColumnIndexes(r, {}).empty());
}

// A table keyed by (id, g) where g is a stored generated column (an 18 source publishing generated columns sends
// it): ("id" key, "a", "g" key generated).
Relation GeneratedKeyRel(ReplicaIdentity ident = ReplicaIdentity::kDefault) {
  Relation r;
  r.relation_id = RelationId{16390};
  r.namespace_name = "public";
  r.name = "gk";
  r.replica_identity = ident;
  const uint8_t key = 1, other = ident == ReplicaIdentity::kFull ? 1 : 0;
  r.columns = {{key, "id", TypeOid{23}, -1}, {other, "a", TypeOid{23}, -1}, {key, "g", TypeOid{23}, -1}};
  return r;
}

TargetDescription GeneratedKeyTarget() {
  TargetDescription d;
  d.found = true;
  d.types = {"integer", "integer", "integer"};
  d.unique_key = {0, 2};
  d.generated = {2};
  return d;
}

TEST(StatementBuilder, AGeneratedColumnOfTheTargetIsNeverInserted) {
  Relation r = GeneratedKeyRel();
  TargetDescription t = GeneratedKeyTarget();
  Insert ins{std::nullopt, r.relation_id, Tuple({ColumnKind::kText, ColumnKind::kText, ColumnKind::kText})};
  StatementShape shape = ShapeFor(r, ins, t);
  EXPECT_EQ(shape.set_cols, (std::vector<int>{0, 1}));
  EXPECT_EQ(BuildStatement(r, t, shape).sql, "INSERT INTO \"public\".\"gk\" (\"id\", \"a\") OVERRIDING SYSTEM VALUE "
                                             "VALUES ($1::integer, $2::integer)");
  // Without it the statement would write g: the target refuses (428C9).
  EXPECT_EQ(ShapeFor(r, ins, {}).set_cols, (std::vector<int>{0, 1, 2}));
}

TEST(StatementBuilder, AGeneratedKeyColumnFindsTheRowButIsNeverSet) {
  Relation r = GeneratedKeyRel();
  TargetDescription t = GeneratedKeyTarget();
  // a changed, so g (derived from a) changed: the old key (id, g) comes in a 'K' old tuple.
  Update up{std::nullopt, r.relation_id,
            OldTuple{OldTupleKind::kKey, Tuple({ColumnKind::kText, ColumnKind::kNull, ColumnKind::kText})},
            Tuple({ColumnKind::kText, ColumnKind::kText, ColumnKind::kText})};
  StatementShape shape = ShapeFor(r, up, t);
  EXPECT_EQ(shape.set_cols, (std::vector<int>{0, 1}));
  EXPECT_EQ(shape.where_cols, (std::vector<int>{0, 2}));
  BuiltStatement b = BuildStatement(r, t, shape);
  EXPECT_EQ(b.sql, "UPDATE ONLY \"public\".\"gk\" SET \"id\" = $1::integer, \"a\" = $2::integer WHERE "
                   "\"id\" = $3::integer AND \"g\" = $4::integer");
  EXPECT_EQ(b.nparams, 4);
  // The key unchanged (no old tuple): found by the new tuple's key, nothing but a written.
  Update same{std::nullopt, r.relation_id, std::nullopt,
              Tuple({ColumnKind::kText, ColumnKind::kText, ColumnKind::kText})};
  EXPECT_EQ(BuildStatement(r, t, ShapeFor(r, same, t)).sql,
            "UPDATE ONLY \"public\".\"gk\" SET \"a\" = $1::integer WHERE \"id\" = $2::integer AND \"g\" = $3::integer");
  Delete del{std::nullopt, r.relation_id,
             OldTuple{OldTupleKind::kKey, Tuple({ColumnKind::kText, ColumnKind::kNull, ColumnKind::kText})}};
  EXPECT_EQ(BuildStatement(r, t, ShapeFor(r, del, t)).sql,
            "DELETE FROM ONLY \"public\".\"gk\" WHERE \"id\" = $1::integer AND \"g\" = $2::integer");
}

TEST(StatementBuilder, AnUpdateWithOnlyGeneratedColumnsLeftTouchesAWritableColumn) {
  Relation r = GeneratedKeyRel();
  TargetDescription t = GeneratedKeyTarget();
  t.generated = {0, 2};  // say id were generated too: the touch column must be one the target lets an UPDATE set
  Update same{std::nullopt, r.relation_id, std::nullopt,
              Tuple({ColumnKind::kText, ColumnKind::kUnchangedToast, ColumnKind::kText})};
  StatementShape shape = ShapeFor(r, same, t);
  EXPECT_TRUE(shape.set_cols.empty());
  EXPECT_EQ(shape.touch_col, 1);
  EXPECT_EQ(BuildStatement(r, t, shape).sql,
            "UPDATE ONLY \"public\".\"gk\" SET \"a\" = \"a\" WHERE \"id\" = $1::integer AND \"g\" = $2::integer");
}

TEST(StatementBuilder, FullIdentityMatchesTheGeneratedColumnInTheImageButNeverWritesIt) {
  Relation r = GeneratedKeyRel(ReplicaIdentity::kFull);
  TargetDescription t = GeneratedKeyTarget();
  t.unique_key.clear();  // no key on the target: the one-row CTE, the whole image compared (NULL matches NULL)
  Update up{std::nullopt, r.relation_id,
            OldTuple{OldTupleKind::kFull, Tuple({ColumnKind::kText, ColumnKind::kNull, ColumnKind::kNull})},
            Tuple({ColumnKind::kText, ColumnKind::kText, ColumnKind::kText})};
  StatementShape shape = ShapeFor(r, up, t);
  EXPECT_EQ(shape.set_cols, (std::vector<int>{0, 1}));
  EXPECT_EQ(shape.where_cols, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(BuildStatement(r, t, shape).sql,
            "WITH walferry_row AS (SELECT tableoid AS toid, ctid AS tid FROM ONLY \"public\".\"gk\" WHERE "
            "ROW(\"id\", \"a\", \"g\")::record *= ROW($3::integer, $4::integer, $5::integer)::record LIMIT 1) "
            "UPDATE ONLY \"public\".\"gk\" AS walferry_t SET \"id\" = $1::integer, \"a\" = $2::integer FROM "
            "walferry_row WHERE walferry_t.tableoid = walferry_row.toid AND walferry_t.ctid = walferry_row.tid");
}

}  // namespace
}  // namespace walferry::cdc
