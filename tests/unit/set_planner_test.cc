#include "plan/set_planner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>

#include "common/error.h"

namespace walferry::plan {
namespace {

using config::ApplyMode;

TableStats Stats(const std::string& name, double rate, int64_t bytes, bool pk_and_unique = false) {
  return TableStats{pg::TableName::Parse(name), rate, bytes, pk_and_unique, {}, ""};
}

// 60 tables shaped like an OLTP database: a few hot tables, a long tail of cool ones (Zipf-like write rates),
// sizes unrelated to rates, some idle tables.
std::vector<TableStats> RealisticWorkload() {
  std::vector<TableStats> tables;
  std::mt19937 rng(42);
  std::uniform_int_distribution<int64_t> size_mb(1, 50000);
  for (int i = 0; i < 60; ++i) {
    double rate = i < 50 ? 900.0 / (i + 1) : 0.0;
    tables.push_back(Stats("app.t" + std::to_string(i), rate, size_mb(rng) << 20, i % 7 == 0));
  }
  return tables;
}

ErrorKind KindOf(const std::vector<TableStats>& tables, int n) {
  try {
    (void)PlanSets(tables, n);
  } catch (const Error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no error";
  return ErrorKind::kInternal;
}

TEST(SetPlanner, BalancesRealisticWorkloadWithin20Percent) {
  for (int n : {2, 3, 4}) {
    SetPlan plan = PlanSets(RealisticWorkload(), n);
    ASSERT_EQ(plan.sets.size(), static_cast<size_t>(n));
    double total = 0, max = 0;
    for (const auto& s : plan.sets) {
      double rate = 0;
      for (const auto& t : s.tables) rate += t.write_rate;
      EXPECT_DOUBLE_EQ(rate, s.write_rate);
      total += rate;
      max = std::max(max, rate);
    }
    double imbalance = max / (total / n) - 1;
    EXPECT_NEAR(plan.imbalance, imbalance, 1e-9);
    EXPECT_LT(plan.imbalance, 0.20) << n << " sets\n" << ExplainPlan(plan);
  }
}

TEST(SetPlanner, DominantTableIsTheOnlyWriterInItsSet) {
  // With 6 sets the hottest table (900/s) is above an even share (~673/s): the best possible plan puts it alone.
  SetPlan plan = PlanSets(RealisticWorkload(), 6);
  // Idle tables may join it (they go by size); no other writer does.
  std::vector<std::string> writers;
  for (const auto& t : plan.sets[0].tables) {
    if (t.write_rate > 0) writers.push_back(t.name.name);
  }
  EXPECT_EQ(writers, std::vector<std::string>{"t0"});
  double total = 0;
  for (const auto& s : plan.sets) total += s.write_rate;
  EXPECT_NEAR(plan.imbalance, 900 / (total / 6) - 1, 1e-9);
}

TEST(SetPlanner, IdleTablesSpreadBySize) {
  SetPlan plan = PlanSets({Stats("hot", 100, 10), Stats("warm", 90, 10), Stats("idle1", 0, 50),
                           Stats("idle2", 0, 40), Stats("idle3", 0, 30)},
                          2);
  // hot -> 1, warm -> 2; idle tables by size: idle1 -> 1 (60), idle2 -> 2 (50), idle3 -> 2 (80)
  EXPECT_EQ(plan.sets[0].total_bytes, 60);
  EXPECT_EQ(plan.sets[1].total_bytes, 80);
  EXPECT_DOUBLE_EQ(plan.sets[0].write_rate, 100);
}

TEST(SetPlanner, EveryTableLandsInExactlyOneSet) {
  auto tables = RealisticWorkload();
  SetPlan plan = PlanSets(tables, 5);
  std::map<pg::TableName, int> count;
  for (const auto& s : plan.sets) {
    EXPECT_FALSE(s.tables.empty());
    ASSERT_EQ(s.tables.size(), s.config.tables.size());
    for (size_t i = 0; i < s.tables.size(); ++i) {
      EXPECT_EQ(s.tables[i].name, s.config.tables[i].name);
      ++count[s.config.tables[i].name];
    }
  }
  ASSERT_EQ(count.size(), tables.size());
  for (const auto& [name, c] : count) EXPECT_EQ(c, 1) << name.Display();
}

TEST(SetPlanner, AssignsHeaviestToLightestSetGreedily) {
  SetPlan plan = PlanSets({Stats("a", 10, 0), Stats("b", 6, 0), Stats("c", 5, 0), Stats("d", 4, 0)}, 2);
  ASSERT_EQ(plan.sets.size(), 2u);
  EXPECT_EQ(plan.sets[0].config.name, "set_1");
  EXPECT_EQ(plan.sets[1].config.name, "set_2");
  // a->1 (10), b->2 (6), c->2 (11), d->1 (14)
  EXPECT_EQ(plan.sets[0].config.tables.size(), 2u);
  EXPECT_EQ(plan.sets[0].config.tables[0].name.name, "a");
  EXPECT_EQ(plan.sets[0].config.tables[1].name.name, "d");
  EXPECT_DOUBLE_EQ(plan.sets[0].write_rate, 14);
  EXPECT_DOUBLE_EQ(plan.sets[1].write_rate, 11);
  EXPECT_NEAR(plan.imbalance, 14 / 12.5 - 1, 1e-12);
}

TEST(SetPlanner, SizeBreaksTiesWhenRatesAreEqual) {
  // No writes at all (e.g. a quiet staging copy): balance by size instead.
  SetPlan plan = PlanSets({Stats("a", 0, 100), Stats("b", 0, 90), Stats("c", 0, 60), Stats("d", 0, 40),
                           Stats("e", 0, 10)},
                          2);
  EXPECT_EQ(plan.sets[0].total_bytes, 150);  // a, d, e
  EXPECT_EQ(plan.sets[1].total_bytes, 150);  // b, c
  EXPECT_DOUBLE_EQ(plan.imbalance, 0);
}

TEST(SetPlanner, OutputDoesNotDependOnInputOrder) {
  auto tables = RealisticWorkload();
  tables.push_back(Stats("app.same_a", 3, 100));
  tables.push_back(Stats("app.same_b", 3, 100));
  auto expected = PlanSets(tables, 4).Configs();
  std::mt19937 rng(7);
  for (int i = 0; i < 5; ++i) {
    std::shuffle(tables.begin(), tables.end(), rng);
    EXPECT_EQ(PlanSets(tables, 4).Configs(), expected);
  }
}

TEST(SetPlanner, TablesWithinASetAreOrderedByName) {
  SetPlan plan = PlanSets(RealisticWorkload(), 3);
  for (const auto& s : plan.sets) {
    EXPECT_TRUE(std::is_sorted(s.config.tables.begin(), s.config.tables.end(),
                               [](const auto& a, const auto& b) { return a.name < b.name; }));
  }
}

TEST(SetPlanner, PkAndUniqueTablesGetTransactionalApplyWithReason) {
  SetPlan plan = PlanSets({Stats("orders", 10, 1, true), Stats("events", 9, 1)}, 1);
  const auto& set = plan.sets[0].config;
  EXPECT_EQ(set.apply, ApplyMode::kBatch);  // not all tables are transactional
  ASSERT_EQ(set.tables.size(), 2u);
  EXPECT_EQ(set.tables[0].name.name, "events");
  EXPECT_FALSE(set.tables[0].apply.has_value());
  EXPECT_EQ(set.tables[0].reason, "");
  EXPECT_EQ(set.tables[1].name.name, "orders");
  EXPECT_EQ(set.tables[1].apply, ApplyMode::kTransactional);
  EXPECT_EQ(set.tables[1].reason, "pk_and_unique -> transactional");
}

TEST(SetPlanner, SetIsTransactionalOnlyWhenAllItsTablesAre) {
  SetPlan plan = PlanSets({Stats("a", 10, 1, true), Stats("b", 10, 1, true), Stats("c", 1, 1)}, 2);
  // a -> set_1, b -> set_2, c -> lighter of equal rates... set_1 and set_2 tie on rate and size: set_1.
  EXPECT_EQ(plan.sets[0].config.apply, ApplyMode::kBatch);
  EXPECT_EQ(plan.sets[1].config.apply, ApplyMode::kTransactional);
  EXPECT_EQ(plan.sets[1].config.tables[0].apply, ApplyMode::kTransactional);
}

TEST(SetPlanner, CarriesLobRecommendationsIntoConfigAndReason) {
  TableStats docs = Stats("docs", 5, 1, true);
  docs.lob = config::LobSettings{1200, config::LobPolicy::kTruncate};
  docs.lob_reason = "largest value 1.1 MB";
  TableStats blobs = Stats("blobs", 1, 1);
  blobs.lob_reason = "values up to 40 MB";
  SetPlan plan = PlanSets({docs, blobs}, 1);
  const auto& tables = plan.sets[0].config.tables;
  EXPECT_EQ(tables[1].lob, docs.lob);
  EXPECT_EQ(tables[1].reason, "pk_and_unique -> transactional; lob max 1200 kB, truncate (largest value 1.1 MB)");
  EXPECT_EQ(tables[0].reason, "lob unlimited (values up to 40 MB)");
}

TEST(SetPlanner, OneSetPerTableIsAllowed) {
  SetPlan plan = PlanSets({Stats("a", 1, 1), Stats("b", 2, 1), Stats("c", 3, 1)}, 3);
  for (const auto& s : plan.sets) EXPECT_EQ(s.tables.size(), 1u);
  EXPECT_EQ(plan.sets[0].tables[0].name.name, "c");
}

TEST(SetPlanner, RejectsSetCountOutOfRange) {
  std::vector<TableStats> two = {Stats("a", 1, 1), Stats("b", 1, 1)};
  EXPECT_EQ(KindOf(two, 0), ErrorKind::kConfig);
  EXPECT_EQ(KindOf(two, -1), ErrorKind::kConfig);
  EXPECT_EQ(KindOf(two, 3), ErrorKind::kConfig);
  EXPECT_EQ(KindOf({}, 1), ErrorKind::kConfig);
  try {
    (void)PlanSets(two, 3);
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "cannot plan 3 sets for 2 tables");
    EXPECT_EQ(e.hint(), "ask for between 1 and 2 sets (each set needs a table)");
  }
}

TEST(SetPlanner, RejectsInvalidStats) {
  EXPECT_EQ(KindOf({Stats("a", 1, 1), Stats("A", 1, 1)}, 1), ErrorKind::kData);  // same table after folding
  EXPECT_EQ(KindOf({Stats("a", -1, 1)}, 1), ErrorKind::kData);
  EXPECT_EQ(KindOf({Stats("a", std::nan(""), 1)}, 1), ErrorKind::kData);
  EXPECT_EQ(KindOf({Stats("a", std::numeric_limits<double>::infinity(), 1)}, 1), ErrorKind::kData);
  EXPECT_EQ(KindOf({Stats("a", 1, -1)}, 1), ErrorKind::kData);
}

TEST(SetPlanner, ExplainListsSetsTablesRatesSizesAndReasons) {
  SetPlan plan = PlanSets({Stats("orders", 12.5, int64_t{3} << 30, true), Stats("events", 8, 512 << 20),
                           Stats("\"Audit\".log", 2, 100)},
                          2);
  std::string text = ExplainPlan(plan);
  EXPECT_NE(text.find("set set_1 (slot walferry_set_1): apply transactional, 1 tables, 12.5 changes/s, 3.0 GB\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("set set_2 (slot walferry_set_2): apply batch, 2 tables, 10.0 changes/s, 512.0 MB\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("public.orders"), std::string::npos) << text;
  EXPECT_NE(text.find("pk_and_unique -> transactional"), std::string::npos) << text;
  EXPECT_NE(text.find("\"Audit\".log"), std::string::npos) << text;
  EXPECT_NE(text.find("100 B"), std::string::npos) << text;
  EXPECT_NE(text.find("imbalance: busiest set is 11.1% above an even split\n"), std::string::npos) << text;
}

// Foreign keys: linked tables (directly, or through a chain) are placed as one unit, whatever the balance; fewer
// groups than sets asked for gives fewer sets and a note; given sets keep their tables and get a note per key that
// crosses two of them.
TableStats Linked(const std::string& name, double rate, std::vector<std::string> refs) {
  TableStats t = Stats(name, rate, 1 << 20);
  for (const auto& r : refs) t.references.push_back(pg::TableName::Parse(r));
  return t;
}

std::map<std::string, std::string> SetOf(const SetPlan& plan) {
  std::map<std::string, std::string> out;
  for (const auto& s : plan.sets) {
    for (const auto& t : s.tables) out[t.name.Display()] = s.config.name;
  }
  return out;
}

TEST(SetPlanner, TablesLinkedByForeignKeysStayInOneSet) {
  // Without the links, LPT would put orders (hot) and order_lines (hot) in two different sets.
  std::vector<TableStats> tables = {Linked("app.orders", 500, {}), Linked("app.order_lines", 400, {"app.orders"}),
                                    Linked("app.line_notes", 1, {"app.order_lines"}),  // chained
                                    Linked("app.events", 450, {"app.ghost"}),          // not planned: ignored
                                    Linked("app.users", 300, {}), Linked("app.sessions", 200, {"app.users"})};
  SetPlan plan = PlanSets(tables, 3);
  ASSERT_EQ(plan.sets.size(), 3u);
  auto set_of = SetOf(plan);
  EXPECT_EQ(set_of["app.orders"], set_of["app.order_lines"]);
  EXPECT_EQ(set_of["app.orders"], set_of["app.line_notes"]);
  EXPECT_EQ(set_of["app.users"], set_of["app.sessions"]);
  EXPECT_NE(set_of["app.orders"], set_of["app.users"]);
  EXPECT_NE(set_of["app.orders"], set_of["app.events"]);
  EXPECT_TRUE(plan.notes.empty());
  EXPECT_EQ(PlanSets(tables, 3).Configs().size(), 3u);  // deterministic
}

TEST(SetPlanner, FewerLinkedGroupsThanSetsGiveFewerSetsAndSayWhy) {
  std::vector<TableStats> tables = {Linked("app.a", 10, {}), Linked("app.b", 10, {"app.a"}),
                                    Linked("app.c", 10, {"app.b"}), Linked("app.d", 1, {})};
  SetPlan plan = PlanSets(tables, 3);
  ASSERT_EQ(plan.sets.size(), 2u);
  ASSERT_EQ(plan.notes.size(), 1u);
  EXPECT_NE(plan.notes[0].find("asked for 3 sets, planned 2"), std::string::npos) << plan.notes[0];
  EXPECT_NE(ExplainPlan(plan).find("note: asked for 3 sets"), std::string::npos);
  auto set_of = SetOf(plan);
  EXPECT_EQ(set_of["app.a"], set_of["app.c"]);
  EXPECT_NE(set_of["app.a"], set_of["app.d"]);
}

TEST(SetPlanner, GivenSetsKeepTheirTablesAndNoteForeignKeysAcrossThem) {
  SetPlan plan = PlanGivenSets({{"left", {Linked("app.child", 1, {"app.parent"})}},
                                {"right", {Linked("app.parent", 1, {}), Linked("app.other", 1, {"app.parent"})}}});
  ASSERT_EQ(plan.sets.size(), 2u);
  ASSERT_EQ(plan.notes.size(), 1u);
  EXPECT_NE(plan.notes[0].find("from app.child (set left) to app.parent (set right)"), std::string::npos)
      << plan.notes[0];
}

TEST(SetPlanner, PlannedSetsSurviveTheConfigFile) {
  config::Config c;
  c.sets = PlanSets(RealisticWorkload(), 4).Configs();
  EXPECT_EQ(config::Parse(config::ToYaml(c), ""), c);
}

}  // namespace
}  // namespace walferry::plan
