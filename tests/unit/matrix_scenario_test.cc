// The scenario matrix's generator (tests/matrix/scenario.h), without a server: the same seed gives the same
// scenario, every catalogue feature is reachable, every type family is drawn within three consecutive seeds, and
// each table is in exactly one set.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>

#include "matrix/scenario.h"
#include "matrix/types.h"

namespace walferry::matrix {
namespace {

TEST(MatrixScenario, TheSameSeedGivesTheSameScenario) {
  Scenario a = Generate(42, "mx42");
  Scenario b = Generate(42, "mx42");
  EXPECT_EQ(a.schema_sql, b.schema_sql);
  EXPECT_EQ(a.workload, b.workload);
  EXPECT_EQ(a.during_load, b.during_load);
  EXPECT_EQ(a.kill_after, b.kill_after);
  EXPECT_EQ(a.restart_set, b.restart_set);
  EXPECT_EQ(a.restart_after, b.restart_after);
  EXPECT_EQ(a.features, b.features);
  ASSERT_EQ(a.sets.size(), b.sets.size());
  for (size_t i = 0; i < a.sets.size(); ++i) EXPECT_EQ(a.sets[i].tables, b.sets[i].tables);
  EXPECT_NE(Generate(43, "mx43").schema_sql, a.schema_sql);
}

TEST(MatrixScenario, EveryTableIsInExactlyOneSetWithAValidName) {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    Scenario s = Generate(seed, "mx" + std::to_string(seed));
    ASSERT_GE(s.sets.size(), 1u);
    ASSERT_LE(s.sets.size(), 4u);
    std::set<std::string> seen;
    for (const SetPlan& set : s.sets) {
      EXPECT_TRUE(std::regex_match(set.name, std::regex("[a-z0-9_]{1,48}"))) << set.name;
      EXPECT_FALSE(set.tables.empty());
      for (const std::string& t : set.tables) EXPECT_TRUE(seen.insert(t).second) << t << " in two sets, seed " << seed;
    }
    for (size_t k : s.kill_after) EXPECT_LT(k, s.workload.size());
    if (!s.restart_set.empty()) {
      EXPECT_LT(s.restart_after, s.workload.size());
      EXPECT_TRUE(std::any_of(s.sets.begin(), s.sets.end(), [&](const SetPlan& p) { return p.name == s.restart_set; }))
          << s.restart_set << " is no set of seed " << seed;
    }
  }
}

TEST(MatrixScenario, EveryCatalogueFeatureIsReachedAndEveryTypeWithinThreeSeeds) {
  std::map<std::string, int> drawn;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    for (const auto& [f, n] : Generate(seed, "mx").features) drawn[f] += n;
  }
  for (const std::string& f : CatalogueFeatures()) EXPECT_GT(drawn[f], 0) << f << " is never drawn in 300 seeds";
  // The generator only names features of the catalogue (a misspelt one would never be reported).
  for (const auto& [f, n] : drawn) {
    const auto& all = CatalogueFeatures();
    EXPECT_NE(std::find(all.begin(), all.end(), f), all.end()) << f << " is drawn but not in the catalogue";
  }
  for (uint64_t first = 1; first <= 10; ++first) {
    std::set<std::string> types;
    for (uint64_t seed = first; seed < first + 3; ++seed) {
      for (const auto& [f, n] : Generate(seed, "mx").features) {
        if (f.rfind("type:", 0) == 0) types.insert(f);
      }
    }
    EXPECT_EQ(types.size(), TypeFamilies().size()) << "seeds " << first << ".." << first + 2;
  }
}

// The seam found by the restart case stays in the generator: seed 122 restarts a set holding a legacy-inheritance
// parent whose child streams in another set (walferry restart failed with 2BP01 after dropping the set's slot).
TEST(MatrixScenario, Seed122RestartsAParentsSetWhoseChildIsInAnotherSet) {
  Scenario s = Generate(122, "mx122");
  EXPECT_FALSE(s.restart_set.empty());
  EXPECT_GT(s.features["op:restart_parent_apart"], 0);
}

}  // namespace
}  // namespace walferry::matrix
