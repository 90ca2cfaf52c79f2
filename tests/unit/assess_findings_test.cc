// Pure parts of assess and plan: findings and their fixes, LOB recommendations, the pgoutput allow-list,
// set names and given sets.
#include <gtest/gtest.h>

#include <algorithm>

#include "assess/assessment.h"
#include "assess/preflight.h"
#include "plan/set_planner.h"

namespace walferry {
namespace {

assess::TableAssessment Table(const std::string& schema, const std::string& name) {
  assess::TableAssessment t;
  t.info.name = {schema, name};
  t.can_select = true;
  t.selected = true;
  return t;
}

TEST(AssessFindings, NoKeyGetsQuotedReplicaIdentityStatement) {
  auto t = Table("Sales Dept", "Order\"Items");
  t.info.columns = {{.name = "a", .not_null = true}};
  t.unique_indexes = {{"Idx A", {"a"}, false}};
  assess::ComputeFindings(t);
  ASSERT_TRUE(t.HasFinding("no_replica_identity"));
  EXPECT_NE(t.findings[0].fix.find("ALTER TABLE \"Sales Dept\".\"Order\"\"Items\" REPLICA IDENTITY USING INDEX \"Idx A\";"),
            std::string::npos)
      << t.findings[0].fix;
  t.info.columns[0].not_null = false;  // a unique index over nullable columns cannot be the identity
  assess::ComputeFindings(t);
  EXPECT_NE(t.findings[0].fix.find("REPLICA IDENTITY FULL;"), std::string::npos);
}

TEST(AssessFindings, APrimaryKeyOverAGeneratedColumnCannotBeReplicated) {
  auto t = Table("public", "readings");
  t.info.columns = {{.name = "day", .not_null = true}, {.name = "Key", .not_null = true, .generated = true}};
  t.info.primary_key = {"day", "Key"};
  assess::ComputeFindings(t);
  ASSERT_TRUE(t.HasFinding("generated_key"));
  EXPECT_FALSE(t.HasFinding("no_replica_identity"));
  const auto& f = *std::find_if(t.findings.begin(), t.findings.end(), [](const auto& x) { return x.code == "generated_key"; });
  EXPECT_NE(f.reason.find("\"Key\""), std::string::npos) << f.reason;
  EXPECT_NE(f.fix.find("ALTER TABLE \"public\".\"readings\" REPLICA IDENTITY FULL;"), std::string::npos) << f.fix;
  t.info.replica_identity = 'f';  // the fix applied
  assess::ComputeFindings(t);
  EXPECT_FALSE(t.HasFinding("generated_key"));
}

TEST(AssessFindings, AUsingIndexIdentityOverAGeneratedColumnIsRefusedBefore18AndCarriedFrom18) {
  auto t = Table("public", "readings");
  t.info.columns = {{.name = "id", .not_null = true}, {.name = "g", .not_null = true, .generated = true}};
  t.info.primary_key = {"id"};
  t.info.replica_identity = 'i';
  t.info.replica_identity_index = {"id", "g"};
  assess::ComputeFindings(t);
  ASSERT_TRUE(t.HasFinding("generated_key"));
  const auto& f = *std::find_if(t.findings.begin(), t.findings.end(), [](const auto& x) { return x.code == "generated_key"; });
  EXPECT_TRUE(assess::BlocksLoad(f));
  EXPECT_NE(f.reason.find("USING INDEX"), std::string::npos) << f.reason;
  EXPECT_NE(f.reason.find("PostgreSQL 18"), std::string::npos) << f.reason;
  t.source_publishes_generated_columns = true;  // an 18 source
  assess::ComputeFindings(t);
  EXPECT_FALSE(t.HasFinding("generated_key"));
  ASSERT_TRUE(t.HasFinding("generated_key_published"));
  for (const auto& x : t.findings) EXPECT_FALSE(assess::BlocksLoad(x)) << x.code;
  t.info.replica_identity = 'd';  // the primary key (id) holds no generated column
  assess::ComputeFindings(t);
  EXPECT_FALSE(t.HasFinding("generated_key_published"));
  EXPECT_EQ(assess::GeneratedIdentityColumn(t.info), std::nullopt);
  t.info.replica_identity = 'f';
  t.info.primary_key = {"id", "g"};
  EXPECT_EQ(assess::GeneratedIdentityColumn(t.info), std::nullopt);  // FULL: every column, nothing to refuse
  t.info.replica_identity = 'd';
  EXPECT_EQ(assess::GeneratedIdentityColumn(t.info), "g");
}

TEST(AssessFindings, PkAndUniqueNeedsBoth) {
  auto t = Table("public", "users");
  t.info.primary_key = {"id"};
  assess::ComputeFindings(t);
  EXPECT_FALSE(t.HasFinding("pk_and_unique"));
  EXPECT_FALSE(t.HasFinding("no_replica_identity"));
  t.unique_indexes = {{"users_email_key", {"email"}, true}};
  assess::ComputeFindings(t);
  EXPECT_TRUE(t.HasFinding("pk_and_unique"));
}

TEST(AssessFindings, RecommendedLobIsMaxPlusHeadroomRoundedTo64Kb) {
  auto t = Table("public", "docs");
  EXPECT_FALSE(t.RecommendedLob().has_value());
  t.lob_measured = true;
  t.lob_columns = {{"b", "bytea", false, 100 * 1024, 1024, std::nullopt}};
  EXPECT_EQ(t.RecommendedLob()->max_kb, 128);
  EXPECT_EQ(t.RecommendedLob()->policy, config::LobPolicy::kError);
  t.lob_columns[0].max_bytes = 10;
  EXPECT_EQ(t.RecommendedLob()->max_kb, 64);
  t.lob_columns[0].max_bytes = 0;
  EXPECT_FALSE(t.RecommendedLob().has_value());
}

TEST(AssessPreflight, PgoutputAllowedOnlyWhenUnrestrictedOrListed) {
  EXPECT_TRUE(assess::PgoutputAllowed(std::nullopt));
  EXPECT_TRUE(assess::PgoutputAllowed(""));
  EXPECT_TRUE(assess::PgoutputAllowed("wal2json, pgoutput"));
  EXPECT_FALSE(assess::PgoutputAllowed("wal2json"));
  EXPECT_FALSE(assess::PgoutputAllowed("pgoutputx"));
}

TEST(PlanGivenSets, KeepsNamesAndRejectsATableInTwoSets) {
  plan::TableStats a{{"public", "a"}, 1, 10, true}, b{{"public", "b"}, 3, 10, false};
  auto p = plan::PlanGivenSets({{"hot", {a}}, {"cold", {b}}});
  ASSERT_EQ(p.sets.size(), 2u);
  EXPECT_EQ(p.sets[0].config.name, "hot");
  EXPECT_EQ(p.sets[0].config.apply, config::ApplyMode::kTransactional);
  EXPECT_DOUBLE_EQ(p.imbalance, 0.5);  // max 3 over mean 2
  EXPECT_THROW((void)plan::PlanGivenSets({{"x", {a}}, {"y", {a}}}), Error);
  EXPECT_THROW((void)plan::PlanGivenSets({{"x", {}}}), Error);
  EXPECT_EQ(plan::SetNameFrom("Hot-Set.v2"), "hot_set_v2");
  EXPECT_EQ(plan::SetNameFrom(""), "set");
}

}  // namespace
}  // namespace walferry
