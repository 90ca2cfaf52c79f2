// The SQL that applies one row change: identifiers quoted, values as parameters, unchanged TOAST left out,
// REPLICA IDENTITY FULL touching exactly one row.
#include <gtest/gtest.h>

#include "cdc/statement_builder.h"
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
  BuiltStatement s = BuildStatement(r, ShapeFor(r, ins));
  EXPECT_EQ(s.sql, "INSERT INTO \"Sales Dept\".\"Order\"\"Items\" (\"id\", \"Big\", \"doc\") OVERRIDING SYSTEM VALUE "
                   "VALUES ($1, $2, $3)");
  EXPECT_EQ(s.nparams, 3);
}

TEST(StatementBuilder, UpdateLeavesUnchangedToastAndUnchangedKeyOutOfSet) {
  Relation r = Rel();
  Update up{std::nullopt, r.relation_id, std::nullopt,
            Tuple({ColumnKind::kText, ColumnKind::kUnchangedToast, ColumnKind::kText})};
  StatementShape shape = ShapeFor(r, up);
  EXPECT_EQ(BuildStatement(r, shape).sql, "UPDATE \"Sales Dept\".\"Order\"\"Items\" SET \"doc\" = $1 WHERE \"id\" = $2");
}

TEST(StatementBuilder, UpdateWithChangedKeyFindsRowByOldKey) {
  Relation r = Rel();
  Update up{std::nullopt, r.relation_id,
            OldTuple{OldTupleKind::kKey, Tuple({ColumnKind::kText, ColumnKind::kNull, ColumnKind::kNull})},
            Tuple({ColumnKind::kText, ColumnKind::kText, ColumnKind::kText})};
  StatementShape shape = ShapeFor(r, up);
  EXPECT_EQ(shape.set_cols, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(shape.where_cols, (std::vector<int>{0}));
}

TEST(StatementBuilder, FullIdentityDeleteTouchesExactlyOneRow) {
  Relation r = Rel(ReplicaIdentity::kFull);
  Delete del{std::nullopt, r.relation_id,
             OldTuple{OldTupleKind::kFull, Tuple({ColumnKind::kText, ColumnKind::kNull, ColumnKind::kText})}};
  std::string sql = BuildStatement(r, ShapeFor(r, del)).sql;
  EXPECT_NE(sql.find("\"id\" IS NOT DISTINCT FROM $1"), std::string::npos) << sql;
  EXPECT_NE(sql.find("\"doc\"::text IS NOT DISTINCT FROM $3::text"), std::string::npos) << sql;
  EXPECT_NE(sql.find("LIMIT 1"), std::string::npos) << sql;
  EXPECT_NE(sql.find("walferry_t.ctid = walferry_row.tid"), std::string::npos) << sql;
}

TEST(StatementBuilder, ChangeWithoutIdentityIsRejected) {
  Relation r = Rel(ReplicaIdentity::kNothing);
  r.columns[0].flags = 0;
  Update up{std::nullopt, r.relation_id, std::nullopt, Tuple({ColumnKind::kText, ColumnKind::kText, ColumnKind::kText})};
  EXPECT_THROW(ShapeFor(r, up), Error);
}

}  // namespace
}  // namespace walferry::cdc
