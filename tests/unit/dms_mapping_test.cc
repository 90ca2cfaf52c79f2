#include "plan/dms_mapping.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.h"

#ifndef WALFERRY_TEST_FIXTURES
#define WALFERRY_TEST_FIXTURES "tests/fixtures"  // when built by hand from the repository root
#endif

namespace walferry::plan {
namespace {

using config::LobPolicy;
using config::LobSettings;
using config::SelectionRule;

std::string ImportError(const std::string& text) {
  try {
    (void)ImportDmsMapping(text, "mapping.json");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConfig);
    return e.message();
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return "";
}

// One rule wrapped in a document; `body` is the rule's members after rule-type/id/name.
std::string OneRule(const std::string& type, const std::string& body) {
  return R"({"rules": [{"rule-type": ")" + type + R"(", "rule-id": "7", "rule-name": "7", )" + body + "}]}";
}

const char* kLocator = R"("object-locator": {"schema-name": "public", "table-name": "t"})";

TEST(DmsMapping, ImportsThePlaybookExample) {
  DmsImport imported = LoadDmsMapping(WALFERRY_TEST_FIXTURES "/dms/playbook_mapping.json");
  ASSERT_EQ(imported.rules.size(), 3u);
  EXPECT_EQ(imported.rules[0], (SelectionRule{"public", "some_table_001", true}));
  EXPECT_EQ(imported.rules[1], (SelectionRule{"public", "some_table_002", true}));
  EXPECT_EQ(imported.rules[2], (SelectionRule{"public", "some_table_003", true}));
  ASSERT_EQ(imported.lob.size(), 1u);
  EXPECT_EQ(imported.lob[0].table, (pg::TableName{"public", "some_table_001"}));
  EXPECT_FALSE(imported.lob[0].lob.max_kb.has_value());  // unlimited: carried whole
  EXPECT_EQ(imported.lob[0].lob.policy, LobPolicy::kError);
  EXPECT_TRUE(imported.notes.empty());
}

TEST(DmsMapping, ImportsWildcardsExcludesAndLimitedLob) {
  DmsImport imported = ImportDmsMapping(R"({"rules": [
    {"rule-type": "selection", "rule-id": 1, "rule-name": "1", "rule-action": "include",
     "object-locator": {"schema-name": "%", "table-name": "%"}},
    {"rule-type": "selection", "rule-id": "2", "rule-name": "2", "rule-action": "exclude",
     "object-locator": {"schema-name": "public", "table-name": "tmp_%", "table-type": "table"}, "load-order": 3},
    {"rule-type": "table-settings", "rule-id": "3", "rule-name": "x",
     "object-locator": {"schema-name": "Sales", "table-name": "Big Docs"},
     "lob-settings": {"mode": "limited", "bulk-max-size": 1200}},
    {"rule-type": "table-settings", "rule-id": "4", "rule-name": "y",
     "object-locator": {"schema-name": "public", "table-name": "blobs"}, "lob-settings": {"mode": "none"}}
  ]})", "m.json");
  ASSERT_EQ(imported.rules.size(), 2u);
  EXPECT_EQ(imported.rules[0], (SelectionRule{"%", "%", true}));
  EXPECT_EQ(imported.rules[1], (SelectionRule{"public", "tmp_%", false}));
  ASSERT_EQ(imported.lob.size(), 2u);
  EXPECT_EQ(imported.lob[0].table, (pg::TableName{"Sales", "Big Docs"}));  // DMS names are literal: no folding
  EXPECT_EQ(imported.lob[0].lob, (LobSettings{1200, LobPolicy::kTruncate}));
  EXPECT_EQ(imported.lob[1].lob, LobSettings{});
  ASSERT_EQ(imported.notes.size(), 1u);
  EXPECT_NE(imported.notes[0].find("public.blobs: DMS lob mode 'none'"), std::string::npos) << imported.notes[0];
}

config::SetConfig SampleSet() {
  config::SetConfig set;
  set.name = "hot";
  set.tables.push_back({{"public", "orders"}, config::ApplyMode::kTransactional, {}, "pk_and_unique"});
  set.tables.push_back({{"public", "docs"}, std::nullopt, {4096, LobPolicy::kTruncate}, ""});
  set.tables.push_back({{"Sales Dept", "Order\"Items"}, std::nullopt, {}, ""});
  return set;
}

TEST(DmsMapping, ExportWritesExplicitRulesAndLobSettingsWithNumericIds) {
  nlohmann::json doc = nlohmann::json::parse(ExportDmsMapping(SampleSet()));
  const auto& rules = doc["rules"];
  ASSERT_EQ(rules.size(), 4u);
  for (size_t i = 0; i < rules.size(); ++i) {
    EXPECT_EQ(rules[i]["rule-id"], std::to_string(i + 1));
    EXPECT_EQ(rules[i]["rule-name"], std::to_string(i + 1));
  }
  EXPECT_EQ(rules[0]["rule-type"], "selection");
  EXPECT_EQ(rules[0]["rule-action"], "explicit");
  EXPECT_EQ(rules[2]["object-locator"]["schema-name"], "Sales Dept");
  EXPECT_EQ(rules[2]["object-locator"]["table-name"], "Order\"Items");
  EXPECT_EQ(rules[3]["rule-type"], "table-settings");
  EXPECT_EQ(rules[3]["object-locator"]["table-name"], "docs");
  EXPECT_EQ(rules[3]["lob-settings"]["mode"], "limited");
  EXPECT_EQ(rules[3]["lob-settings"]["bulk-max-size"], "4096");
}

TEST(DmsMapping, ExportThenImportRoundTrips) {
  config::SetConfig set = SampleSet();
  set.tables.push_back({{"public", "blobs"}, std::nullopt, {std::nullopt, LobPolicy::kTruncate}, ""});
  DmsImport imported = ImportDmsMapping(ExportDmsMapping(set), "export.json");
  ASSERT_EQ(imported.rules.size(), set.tables.size());
  for (size_t i = 0; i < set.tables.size(); ++i) {
    EXPECT_EQ(imported.rules[i], (SelectionRule{set.tables[i].name.schema, set.tables[i].name.name, true}));
  }
  ASSERT_EQ(imported.lob.size(), 2u);
  EXPECT_EQ(imported.lob[0], (DmsTableLob{{"public", "docs"}, {4096, LobPolicy::kTruncate}}));
  EXPECT_EQ(imported.lob[1], (DmsTableLob{{"public", "blobs"}, LobSettings{}}));
}

TEST(DmsMapping, PlaybookImportExportImportIsStable) {
  DmsImport first = LoadDmsMapping(WALFERRY_TEST_FIXTURES "/dms/playbook_mapping.json");
  config::SetConfig set{"playbook", config::ApplyMode::kBatch, {}};
  for (const auto& rule : first.rules) set.tables.push_back({{rule.schema_pattern, rule.table_pattern}, {}, {}, ""});
  DmsImport second = ImportDmsMapping(ExportDmsMapping(set), "export.json");
  EXPECT_EQ(second.rules, first.rules);
  EXPECT_TRUE(second.lob.empty());  // unlimited is the default: no table-settings needed
}

TEST(DmsMapping, LimitWithErrorPolicyExportsAsUnlimited) {
  config::SetConfig set{"s", config::ApplyMode::kBatch, {{{"public", "t"}, {}, {100, LobPolicy::kError}, ""}}};
  nlohmann::json doc = nlohmann::json::parse(ExportDmsMapping(set));
  EXPECT_EQ(doc["rules"][1]["lob-settings"]["mode"], "unlimited");
}

TEST(DmsMapping, MalformedJsonNamesFileLineAndColumn) {
  // The playbook's example as printed, braces lost: the parser stops at the ':' after "rule-type" (line 3, col 24).
  std::string m = ImportError("{\n    \"rules\": [\n            \"rule-type\": \"selection\",\n");
  EXPECT_EQ(m.rfind("mapping.json:3:24: malformed JSON: ", 0), 0u) << m;
  m = ImportError("{\"rules\": [}");
  EXPECT_EQ(m.rfind("mapping.json:1:12: malformed JSON: ", 0), 0u) << m;
  m = ImportError("");
  EXPECT_EQ(m.rfind("mapping.json:1:1: malformed JSON: ", 0), 0u) << m;
}

TEST(DmsMapping, DuplicateJsonKeyIsAnError) {
  EXPECT_EQ(ImportError(OneRule("selection", std::string(kLocator) +
                                                 R"(, "rule-action": "include", "rule-action": "exclude")")),
            "mapping.json: key 'rule-action' appears twice in one object; keep one");
}

TEST(DmsMapping, DocumentShapeErrorsAreNamed) {
  EXPECT_EQ(ImportError("[]"), "mapping.json: document: expected an object, found array");
  EXPECT_EQ(ImportError("{}"), "mapping.json: document: rules: missing; this key is required");
  EXPECT_EQ(ImportError(R"({"rules": {}})"), "mapping.json: document: rules: expected an array, found object");
  EXPECT_EQ(ImportError(R"({"rules": [], "rulez": 1})"),
            "mapping.json: document: rulez: unknown key; walferry accepts rules here");
  EXPECT_EQ(ImportError(R"({"rules": [3]})"), "mapping.json: rules[0]: expected an object, found number");
}

TEST(DmsMapping, MissingRuleFieldsAreNamed) {
  EXPECT_EQ(ImportError(R"({"rules": [{"rule-type": "selection"}]})"),
            "mapping.json: rules[0]: rule-id: missing; this key is required");
  EXPECT_EQ(ImportError(R"({"rules": [{"rule-type": "selection", "rule-id": "5"}]})"),
            "mapping.json: rules[0] (rule-id 5): rule-name: missing; this key is required");
  EXPECT_EQ(ImportError(R"({"rules": [{"rule-id": "5", "rule-name": "5"}]})"),
            "mapping.json: rules[0] (rule-id 5): rule-type: missing; this key is required");
  EXPECT_EQ(ImportError(OneRule("selection", kLocator)),
            "mapping.json: rules[0] (rule-id 7): rule-action: missing; this key is required");
  EXPECT_EQ(ImportError(OneRule("selection", R"("rule-action": "include")")),
            "mapping.json: rules[0] (rule-id 7): object-locator: missing; this key is required");
  EXPECT_EQ(ImportError(OneRule("selection", R"("rule-action": "include", "object-locator": {"schema-name": "s"})")),
            "mapping.json: rules[0] (rule-id 7): object-locator.table-name: missing; this key is required");
  EXPECT_EQ(ImportError(OneRule("table-settings", kLocator)),
            "mapping.json: rules[0] (rule-id 7): lob-settings: missing; this key is required");
  EXPECT_EQ(ImportError(OneRule("table-settings", std::string(kLocator) + R"(, "lob-settings": {"mode": "limited"})")),
            "mapping.json: rules[0] (rule-id 7): lob-settings.bulk-max-size: missing; this key is required");
}

TEST(DmsMapping, UnknownRuleTypesAndValuesAreErrors) {
  EXPECT_EQ(ImportError(OneRule("filter", kLocator)).rfind(
                "mapping.json: rules[0] (rule-id 7): rule-type: 'filter' is not a rule type walferry knows", 0),
            0u);
  EXPECT_NE(ImportError(OneRule("transformation", kLocator)).find("transformation rules are not supported"),
            std::string::npos);
  EXPECT_EQ(ImportError(OneRule("selection", std::string(kLocator) + R"(, "rule-action": "maybe")")),
            "mapping.json: rules[0] (rule-id 7): rule-action: 'maybe' is not a selection action; use include, "
            "exclude or explicit");
  EXPECT_EQ(ImportError(OneRule("table-settings", std::string(kLocator) + R"(, "lob-settings": {"mode": "full"})")),
            "mapping.json: rules[0] (rule-id 7): lob-settings.mode: 'full' is not a LOB mode; use limited, unlimited "
            "or none");
  EXPECT_EQ(ImportError(OneRule("table-settings", std::string(kLocator) +
                                                      R"(, "lob-settings": {"mode": "limited", "bulk-max-size": "big"})")),
            "mapping.json: rules[0] (rule-id 7): lob-settings.bulk-max-size: expected an integer >= 1, found \"big\"");
  EXPECT_EQ(ImportError(OneRule("table-settings", std::string(kLocator) + R"(, "parallel-load": {})")).rfind(
                "mapping.json: rules[0] (rule-id 7): parallel-load: unknown key; walferry accepts ", 0),
            0u);
  EXPECT_EQ(ImportError(OneRule("selection", R"("rule-action": "include", "object-locator": {"schema-name": "s", "table-name": "v", "table-type": "view"})")),
            "mapping.json: rules[0] (rule-id 7): object-locator.table-type: \"view\" is not supported; walferry "
            "migrates tables only (use \"table\" or leave it out)");
  EXPECT_EQ(ImportError(OneRule("selection", R"("rule-action": "include", "object-locator": {"schema-name": 3, "table-name": "v"})")),
            "mapping.json: rules[0] (rule-id 7): object-locator.schema-name: expected a string, found number");
}

TEST(DmsMapping, RejectsWhatWalferryCannotCarryExactly) {
  EXPECT_NE(ImportError(OneRule("selection", std::string(kLocator) +
                                                 R"(, "rule-action": "include", "filters": [{"filter-type": "source"}])"))
                .find("filters: row filters are not supported"),
            std::string::npos);
  EXPECT_EQ(ImportError(OneRule("selection", R"("rule-action": "explicit", "object-locator": {"schema-name": "s", "table-name": "t%"})")),
            "mapping.json: rules[0] (rule-id 7): object-locator.table-name: 't%' contains '%'; explicit rules name "
            "one table, and walferry patterns cannot express a literal %");
  EXPECT_NE(ImportError(OneRule("table-settings", R"("object-locator": {"schema-name": "%", "table-name": "t"}, "lob-settings": {"mode": "unlimited"})"))
                .find("object-locator.schema-name: '%' contains '%'; walferry keeps LOB settings per table"),
            std::string::npos);
}

TEST(DmsMapping, DuplicateRuleIdsAndLobSettingsAreErrors) {
  std::string rule = R"({"rule-type": "table-settings", "rule-id": "9", "rule-name": "a", )" + std::string(kLocator) +
                     R"(, "lob-settings": {"mode": "unlimited"}})";
  EXPECT_EQ(ImportError(R"({"rules": [)" + rule + "," + rule + "]}"),
            "mapping.json: rules[1] (rule-id 9): rule-id: used by an earlier rule; rule ids must be unique");
  std::string other = rule;
  other.replace(other.find("\"9\""), 3, "\"10\"");
  EXPECT_EQ(ImportError(R"({"rules": [)" + rule + "," + other + "]}"),
            "mapping.json: rules[1] (rule-id 10): object-locator: public.t already has LOB settings");
}

TEST(DmsMapping, LoadOfMissingFileIsAConfigError) {
  try {
    (void)LoadDmsMapping("/nonexistent/mapping.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConfig);
    EXPECT_EQ(e.message(), "/nonexistent/mapping.json: cannot open the DMS table-mapping file");
  }
}

}  // namespace
}  // namespace walferry::plan
