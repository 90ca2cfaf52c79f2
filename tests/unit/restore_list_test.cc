// load/restore_list.h: a resumed post-data step leaves out what the target has, by catalog, and the SQLSTATE that
// stopped a psql script is read whatever language the server speaks. Listings as pg_restore 15 prints them.
#include "load/restore_list.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace walferry::load {
namespace {

const char* kListing =
    ";\n"
    "; Archive created at 2026-12-02 16:20:19 UTC\n"
    ";\n"
    "3211; 2606 16390 CONSTRAINT public t t_pkey postgres\n"
    "3212; 1259 16393 INDEX public t_v postgres\n"
    "3376; 0 0 COMMENT public INDEX t_v postgres\n"
    "3217; 0 0 INDEX ATTACH public p1_a_idx postgres\n"
    "3220; 2620 16403 TRIGGER public t trg postgres\n"
    "3219; 2606 16397 FK CONSTRAINT public c c_id_fkey postgres\n"
    "\n";

SourceObjects Source() {
  return {
      {{2606, 16390}, {"table constraint", "{public,t,t_pkey}", "PRIMARY KEY (id)"}},
      {{1259, 16393}, {"index", "{public,t_v}", "CREATE INDEX t_v ON public.t USING btree (v)"}},
      {{2620, 16403}, {"trigger", "{public,t,trg}", "CREATE TRIGGER trg BEFORE INSERT ON public.t ..."}},
      {{2606, 16397}, {"table constraint", "{public,c,c_id_fkey}", "FOREIGN KEY (id) REFERENCES public.t(id)"}},
  };
}

std::vector<std::string> Lines(const std::vector<TocEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.rest);
  return out;
}

TEST(RestoreList, ParsesCatalogAndOidOfEachEntryAndSkipsComments) {
  std::vector<TocEntry> toc = ParseToc(kListing);
  ASSERT_EQ(toc.size(), 6u);
  EXPECT_EQ(toc[0].classid, 2606u);
  EXPECT_EQ(toc[0].objid, 16390u);
  EXPECT_EQ(toc[0].rest, "CONSTRAINT public t t_pkey postgres");
  EXPECT_EQ(toc[0].line, "3211; 2606 16390 CONSTRAINT public t t_pkey postgres");
  EXPECT_EQ(toc[2].classid, 0u);
  EXPECT_EQ(toc[2].rest, "COMMENT public INDEX t_v postgres");
}

// A table's own index and primary key are built when its copy commits; the foreign key, the trigger, the comment
// and the INDEX ATTACH (no catalog object: classid 0) wait for every copy, even when an owner map names them.
TEST(RestoreList, OnlyEntriesOwnedByOneTableAreEarly) {
  std::vector<TocEntry> toc = ParseToc(kListing);
  std::map<std::pair<uint32_t, uint32_t>, std::string> owners = {
      {{2606, 16390}, "public.t"}, {{1259, 16393}, "public.t"}, {{0, 0}, "public.t"}, {{1259, 99999}, "public.x"}};
  std::map<std::string, std::vector<TocEntry>> early = EarlyEntries(toc, owners);
  ASSERT_EQ(early.size(), 1u);
  EXPECT_EQ(Lines(early["public.t"]),
            (std::vector<std::string>{"CONSTRAINT public t t_pkey postgres", "INDEX public t_v postgres"}));
  EXPECT_TRUE(EarlyEntries(toc, {}).empty());
}

TEST(RestoreList, NothingOnTheTargetRestoresEveryEntry) {
  std::vector<TocEntry> toc = ParseToc(kListing);
  ResumedPostData plan = PlanResumedPostData(toc, Source(), {});
  EXPECT_EQ(plan.restore.size(), toc.size());
  EXPECT_TRUE(plan.kept.empty());
  EXPECT_TRUE(plan.conflicts.empty());
}

TEST(RestoreList, LeavesOutWhatTheTargetHasWithTheSameDefinition) {
  TargetObjects target = {
      {"table constraint {public,t,t_pkey}", "PRIMARY KEY (id)"},
      {"index {public,t_pkey}", "CREATE UNIQUE INDEX t_pkey ON public.t USING btree (id)"},  // the key's index
      {"index {public,t_v}", "CREATE INDEX t_v ON public.t USING btree (v)"},
  };
  ResumedPostData plan = PlanResumedPostData(ParseToc(kListing), Source(), target);
  // Comments and INDEX ATTACH are no catalog objects here; restoring them again changes nothing.
  EXPECT_EQ(Lines(plan.restore),
            (std::vector<std::string>{"COMMENT public INDEX t_v postgres", "INDEX ATTACH public p1_a_idx postgres",
                                      "TRIGGER public t trg postgres", "FK CONSTRAINT public c c_id_fkey postgres"}));
  EXPECT_EQ(plan.kept, (std::vector<std::string>{"table constraint {public,t,t_pkey}", "index {public,t_v}"}));
  EXPECT_TRUE(plan.conflicts.empty());
}

// An index named like the source's primary key is no primary key: the constraint is still created (and fails
// loudly on the target), and a target key of another name is never taken for the source's.
TEST(RestoreList, ASameNamedObjectOfAnotherKindIsNotTheSourcesObject) {
  TargetObjects target = {
      {"index {public,t_pkey}", "CREATE UNIQUE INDEX t_pkey ON public.t USING btree (id)"},
      {"table constraint {public,t,t_other_pkey}", "PRIMARY KEY (id)"},
  };
  ResumedPostData plan = PlanResumedPostData(ParseToc(kListing), Source(), target);
  EXPECT_EQ(plan.restore.size(), 6u);
  EXPECT_TRUE(plan.kept.empty());
}

TEST(RestoreList, TheSameNameWithAnotherDefinitionIsAConflict) {
  TargetObjects target = {{"index {public,t_v}", "CREATE INDEX t_v ON public.t USING btree (id)"}};
  ResumedPostData plan = PlanResumedPostData(ParseToc(kListing), Source(), target);
  ASSERT_EQ(plan.conflicts.size(), 1u);
  EXPECT_NE(plan.conflicts[0].find("index {public,t_v}"), std::string::npos) << plan.conflicts[0];
  EXPECT_NE(plan.conflicts[0].find("btree (id)"), std::string::npos) << plan.conflicts[0];
  EXPECT_NE(plan.conflicts[0].find("btree (v)"), std::string::npos) << plan.conflicts[0];
  EXPECT_EQ(plan.restore.size(), 5u);
}

TEST(RestoreList, StoppingSqlStateIsReadInAnyLanguage) {
  EXPECT_EQ(StoppingSqlState("psql:/tmp/x/script.sql:2: ERROR:  42P07: relation \"t\" already exists\n"
                             "LOCATION:  heap_create_with_catalog, heap.c:1164\n"),
            "42P07");
  EXPECT_EQ(StoppingSqlState("psql:/tmp/x/script.sql:2: FEHLER:  42710: Typ »mood« existiert bereits\n"), "42710");
  EXPECT_EQ(StoppingSqlState("psql:/tmp/x/script.sql:2: エラー:  42P06: スキーマ\"s\"はすでに存在します\n"), "42P06");
}

// A notice with an "exists" SQLSTATE (CREATE ... IF NOT EXISTS) before the error that stopped the script is not
// that error.
TEST(RestoreList, StoppingSqlStateIsTheLastMessagesNotAnEarlierNotices) {
  std::string out =
      "psql:/tmp/x/script.sql:1: HINWEIS:  42P07: Relation »t« existiert bereits, wird übersprungen\n"
      "LOCATION:  transformCreateStmt, parse_utilcmd.c:207\n"
      "psql:/tmp/x/script.sql:2: FEHLER:  42883: Funktion f() existiert nicht\n"
      "LOCATION:  LookupFuncName, parse_func.c:2210\n";
  EXPECT_EQ(StoppingSqlState(out), "42883");
  // An error of psql itself carries no SQLSTATE: not an "exists" error, whatever came before.
  EXPECT_EQ(StoppingSqlState("psql:/tmp/x/script.sql:1: HINWEIS:  42P07: existiert bereits\n"
                             "psql:/tmp/x/script.sql:3: error: invalid command \\foo\n"),
            std::nullopt);
  EXPECT_EQ(StoppingSqlState("psql: error: connection to server at \"127.0.0.1\", port 1 failed\n"), std::nullopt);
  EXPECT_EQ(StoppingSqlState(""), std::nullopt);
}

TEST(DumpTablePatterns, OnePatternPerSchemaWithEveryNameQuotedAndChunked) {
  std::vector<std::pair<std::string, std::string>> tables = {
      {"public", "t1"}, {"Sales Dept", "Order\"Items"}, {"public", "a.b|c*"}, {"public", "T3"}};
  EXPECT_EQ(DumpTablePatterns(tables),
            (std::vector<std::string>{R"("public".("t1"|"a.b|c*"|"T3"))", R"("Sales Dept".("Order""Items"))"}));
  // A chunk never passes max_chars (unless one name alone does); every name lands in exactly one chunk.
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 1000; ++i) many.emplace_back("s", "table_" + std::to_string(i));
  std::vector<std::string> chunks = DumpTablePatterns(many, 200);
  EXPECT_GT(chunks.size(), 50u);
  size_t names = 0;
  for (const auto& c : chunks) {
    EXPECT_LE(c.size(), 201u) << c;
    EXPECT_TRUE(c.starts_with(R"("s".(")")) << c;
    EXPECT_TRUE(c.ends_with(R"("))")) << c;
    names += static_cast<size_t>(std::count(c.begin(), c.end(), '|')) + 1;
  }
  EXPECT_EQ(names, 1000u);
}

TEST(SplitByTables, ConsecutivePartsOfAtMostSoManyTablesKeepingEveryEntryInOrder) {
  // A pre-data listing as pg_restore 15 prints it for three tables, one with a serial column (its sequence, the
  // sequence's owner and the column default come after the table) and a comment.
  const std::vector<TocEntry> toc = ParseToc(
      "214; 1259 16385 TABLE public a -\n"
      "215; 1259 16390 TABLE public b -\n"
      "216; 1259 16389 SEQUENCE public b_id_seq -\n"
      "3350; 0 0 SEQUENCE OWNED BY public b_id_seq -\n"
      "3340; 0 0 COMMENT public TABLE b -\n"
      "217; 1259 16395 TABLE public c -\n"
      "3201; 2604 16393 DEFAULT public b id -\n"
      "3210; 0 0 TABLE ATTACH public c -\n");
  ASSERT_EQ(toc.size(), 8u);
  auto lines = [](const std::vector<TocEntry>& part) {
    std::vector<std::string> out;
    for (const auto& e : part) out.push_back(e.line.substr(0, e.line.find(';')));
    return out;
  };
  std::vector<std::vector<TocEntry>> parts = SplitByTables(toc, 2);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(lines(parts[0]), (std::vector<std::string>{"214", "215", "216", "3350", "3340"}));
  EXPECT_EQ(lines(parts[1]), (std::vector<std::string>{"217", "3201", "3210"}));
  parts = SplitByTables(toc, 1);
  ASSERT_EQ(parts.size(), 3u) << "TABLE ATTACH creates no table";
  EXPECT_EQ(lines(parts[0]), (std::vector<std::string>{"214"}));
  EXPECT_EQ(lines(parts[2]), (std::vector<std::string>{"217", "3201", "3210"}));
  EXPECT_FALSE(IsTableEntry(toc[7]));
  EXPECT_TRUE(IsTableEntry(toc[0]));
  EXPECT_EQ(SplitByTables(toc, 3).size(), 1u);
  EXPECT_EQ(SplitByTables(toc, 0).size(), 3u) << "at least one table per part";
  EXPECT_TRUE(SplitByTables({}, 5).empty());
  // Entries before the first TABLE (a listing never starts so, but nothing is dropped) open the first part.
  const std::vector<TocEntry> lead = ParseToc("9; 0 0 COMMENT public TABLE x -\n214; 1259 1 TABLE public x -\n");
  parts = SplitByTables(lead, 1);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].size(), 2u);
}

}  // namespace
}  // namespace walferry::load
