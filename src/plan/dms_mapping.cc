#include "plan/dms_mapping.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/error.h"

namespace walferry::plan {

namespace {

using nlohmann::json;

// DMS's recommended LOB chunk size (KB) for unlimited mode; walferry itself ignores it.
constexpr const char* kUnlimitedChunkKb = "64";

std::string JoinKeys(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
  return out;
}

const char* TypeName(const json& value) {
  return value.type_name();  // "object", "array", "string", "number", "boolean", "null"
}

// Error context for one rule: "FILE: rules[3] (rule-id 42): FIELD: what".
class RuleScope {
 public:
  RuleScope(std::string path, std::string where) : path_(std::move(path)), where_(std::move(where)) {}
  void SetRuleId(const std::string& id) { where_ += " (rule-id " + id + ")"; }

  [[noreturn]] void Fail(const std::string& field, const std::string& what) const {
    std::string message = path_ + ": " + where_;
    if (!field.empty()) message += ": " + field;
    throw Error(ErrorKind::kConfig, message + ": " + what);
  }

  void CheckObject(const json& value, const std::string& field, const std::vector<std::string>& allowed) const {
    if (!value.is_object()) Fail(field, std::string("expected an object, found ") + TypeName(value));
    for (const auto& [key, unused] : value.items()) {
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string name = field.empty() ? key : field + "." + key;
        Fail(name, "unknown key; walferry accepts " + JoinKeys(allowed) + " here");
      }
    }
  }

  const json& Require(const json& object, const std::string& key, const std::string& field) const {
    auto it = object.find(key);
    if (it == object.end()) Fail(field, "missing; this key is required");
    return *it;
  }

  std::string String(const json& object, const std::string& key, const std::string& field) const {
    const json& value = Require(object, key, field);
    if (!value.is_string()) Fail(field, std::string("expected a string, found ") + TypeName(value));
    std::string s = value.get<std::string>();
    if (s.empty()) Fail(field, "must not be empty");
    return s;
  }

  // DMS writes numbers as strings ("64") but accepts JSON numbers too; both are read, anything else fails.
  int64_t Number(const json& value, const std::string& field, int64_t min) const {
    int64_t n = 0;
    bool ok = false;
    if (value.is_number_integer()) {
      n = value.get<int64_t>();
      ok = true;
    } else if (value.is_string()) {
      const std::string& s = value.get_ref<const std::string&>();
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      ok = !s.empty() && ec == std::errc() && end == s.data() + s.size();
    }
    if (!ok || n < min) Fail(field, "expected an integer >= " + std::to_string(min) + ", found " + value.dump());
    return n;
  }

 private:
  std::string path_;
  std::string where_;
};

// "FILE:LINE:COLUMN: malformed JSON: ..." from nlohmann's byte offset (1-based, the last byte it read).
Error MalformedJson(const json::parse_error& e, const std::string& text, const std::string& path) {
  size_t end = std::min<size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
  auto end_it = text.begin() + static_cast<std::ptrdiff_t>(end);
  size_t line = 1 + static_cast<size_t>(std::count(text.begin(), end_it, '\n'));
  size_t line_start = text.rfind('\n', end == 0 ? 0 : end - 1);
  size_t column = (line_start == std::string::npos || line_start >= end) ? end + 1 : end - line_start;
  if (end == 0) column = 1;
  // nlohmann's what() is "[json.exception.parse_error.101] parse error at line L, column C: DETAIL".
  std::string detail = e.what();
  if (size_t colon = detail.find(": "); colon != std::string::npos) detail = detail.substr(colon + 2);
  return Error(ErrorKind::kConfig, path + ":" + std::to_string(line) + ":" + std::to_string(column) +
                                       ": malformed JSON: " + detail);
}

pg::TableName Locator(const RuleScope& scope, const json& rule, bool allow_wildcards, const char* why_not) {
  const json& locator = scope.Require(rule, "object-locator", "object-locator");
  scope.CheckObject(locator, "object-locator", {"schema-name", "table-name", "table-type"});
  pg::TableName name{scope.String(locator, "schema-name", "object-locator.schema-name"),
                     scope.String(locator, "table-name", "object-locator.table-name")};
  if (locator.contains("table-type")) {
    const json& type = locator["table-type"];
    if (!type.is_string() || type.get<std::string>() != "table") {
      scope.Fail("object-locator.table-type", type.dump() + " is not supported; walferry migrates tables only "
                                                            "(use \"table\" or leave it out)");
    }
  }
  if (!allow_wildcards) {
    for (const auto& [field, part] : {std::pair{"schema-name", &name.schema}, std::pair{"table-name", &name.name}}) {
      if (part->find('%') != std::string::npos) {
        scope.Fail(std::string("object-locator.") + field, "'" + *part + "' contains '%'; " + why_not);
      }
    }
  }
  return name;
}

void ImportSelection(const RuleScope& scope, const json& rule, DmsImport& out) {
  scope.CheckObject(rule, "", {"rule-type", "rule-id", "rule-name", "rule-action", "object-locator", "filters",
                               "load-order"});
  std::string action = scope.String(rule, "rule-action", "rule-action");
  if (action != "include" && action != "exclude" && action != "explicit") {
    scope.Fail("rule-action", "'" + action + "' is not a selection action; use include, exclude or explicit");
  }
  bool is_explicit = action == "explicit";
  pg::TableName pattern = Locator(scope, rule, !is_explicit,
                                  "explicit rules name one table, and walferry patterns cannot express a literal %");
  if (rule.contains("filters")) {
    const json& filters = rule["filters"];
    if (!filters.is_array()) scope.Fail("filters", std::string("expected an array, found ") + TypeName(filters));
    if (!filters.empty()) {
      scope.Fail("filters", "row filters are not supported: walferry migrates whole tables; remove the filters or "
                            "the rule");
    }
  }
  out.rules.push_back(config::SelectionRule{pattern.schema, pattern.name, action != "exclude"});
}

config::LobSettings ImportLob(const RuleScope& scope, const json& settings, const pg::TableName& table,
                              DmsImport& out) {
  scope.CheckObject(settings, "lob-settings", {"mode", "bulk-max-size"});
  std::string mode = scope.String(settings, "mode", "lob-settings.mode");
  config::LobSettings lob;
  if (mode == "limited") {
    const json& size = scope.Require(settings, "bulk-max-size", "lob-settings.bulk-max-size");
    lob.max_kb = scope.Number(size, "lob-settings.bulk-max-size", 1);
    lob.policy = config::LobPolicy::kTruncate;
  } else if (mode == "unlimited" || mode == "none") {
    if (settings.contains("bulk-max-size")) scope.Number(settings["bulk-max-size"], "lob-settings.bulk-max-size", 0);
    if (mode == "none") {
      out.notes.push_back(table.Display() + ": DMS lob mode 'none' would leave LOB columns empty; walferry carries "
                                            "them whole (no limit, policy error)");
    }
  } else {
    scope.Fail("lob-settings.mode", "'" + mode + "' is not a LOB mode; use limited, unlimited or none");
  }
  return lob;
}

void ImportTableSettings(const RuleScope& scope, const json& rule, DmsImport& out) {
  scope.CheckObject(rule, "", {"rule-type", "rule-id", "rule-name", "object-locator", "lob-settings"});
  pg::TableName table = Locator(scope, rule, false, "walferry keeps LOB settings per table; list each table");
  for (const auto& existing : out.lob) {
    if (existing.table == table) scope.Fail("object-locator", table.Display() + " already has LOB settings");
  }
  const json& settings = scope.Require(rule, "lob-settings", "lob-settings");
  out.lob.push_back(DmsTableLob{table, ImportLob(scope, settings, table, out)});
}

std::string RuleId(const RuleScope& scope, const json& rule) {
  const json& id = scope.Require(rule, "rule-id", "rule-id");
  if (id.is_number_unsigned()) return std::to_string(id.get<uint64_t>());
  if (!id.is_string() || id.get<std::string>().empty()) {
    scope.Fail("rule-id", "expected a numeric string like \"1\", found " + id.dump());
  }
  return id.get<std::string>();
}

void ImportRule(const std::string& path, size_t index, const json& rule, std::set<std::string>& ids, DmsImport& out) {
  RuleScope scope(path, "rules[" + std::to_string(index) + "]");
  if (!rule.is_object()) scope.Fail("", std::string("expected an object, found ") + TypeName(rule));
  std::string id = RuleId(scope, rule);
  scope.SetRuleId(id);
  if (!ids.insert(id).second) scope.Fail("rule-id", "used by an earlier rule; rule ids must be unique");
  scope.String(rule, "rule-name", "rule-name");
  std::string type = scope.String(rule, "rule-type", "rule-type");
  if (type == "selection") {
    ImportSelection(scope, rule, out);
  } else if (type == "table-settings") {
    ImportTableSettings(scope, rule, out);
  } else if (type == "transformation") {
    scope.Fail("rule-type", "transformation rules are not supported: walferry copies schemas, tables and columns "
                            "under their own names; remove the rule");
  } else {
    scope.Fail("rule-type", "'" + type + "' is not a rule type walferry knows; use selection or table-settings");
  }
}

// Export uses ordered_json so rules read like the DMS console's JSON editor: type, id, name, then the rest.
using ordered_json = nlohmann::ordered_json;

ordered_json NewRule(const char* type, int id) {
  ordered_json rule = ordered_json::object();
  rule["rule-type"] = type;
  rule["rule-id"] = std::to_string(id);
  rule["rule-name"] = std::to_string(id);
  return rule;
}

ordered_json LocatorJson(const pg::TableName& table) {
  ordered_json locator = ordered_json::object();
  locator["schema-name"] = table.schema;
  locator["table-name"] = table.name;
  return locator;
}

ordered_json LobSettingsJson(const config::LobSettings& lob) {
  ordered_json settings = ordered_json::object();
  if (lob.max_kb && lob.policy == config::LobPolicy::kTruncate) {
    settings["mode"] = "limited";
    settings["bulk-max-size"] = std::to_string(*lob.max_kb);
  } else {
    settings["mode"] = "unlimited";
    settings["bulk-max-size"] = kUnlimitedChunkKb;
  }
  return settings;
}

// nlohmann keeps the last of duplicate keys silently; a mapping with "rule-action" twice must not half-work.
json ParseRejectingDuplicateKeys(const std::string& text, const std::string& path) {
  std::vector<std::set<std::string>> open_objects;
  json::parser_callback_t check = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) open_objects.emplace_back();
    if (event == json::parse_event_t::object_end && !open_objects.empty()) open_objects.pop_back();
    if (event == json::parse_event_t::key && !open_objects.empty()) {
      std::string key = parsed.get<std::string>();
      if (!open_objects.back().insert(key).second) {
        throw Error(ErrorKind::kConfig, path + ": key '" + key + "' appears twice in one object; keep one");
      }
    }
    return true;
  };
  try {
    return json::parse(text, check);
  } catch (const json::parse_error& e) {
    throw MalformedJson(e, text, path);
  }
}

}  // namespace

DmsImport ImportDmsMapping(const std::string& json_text, const std::string& path) {
  json document = ParseRejectingDuplicateKeys(json_text, path);
  RuleScope top(path, "document");
  top.CheckObject(document, "", {"rules"});
  const json& rules = top.Require(document, "rules", "rules");
  if (!rules.is_array()) top.Fail("rules", std::string("expected an array, found ") + TypeName(rules));
  DmsImport out;
  std::set<std::string> ids;
  for (size_t i = 0; i < rules.size(); ++i) ImportRule(path, i, rules[i], ids, out);
  return out;
}

DmsImport LoadDmsMapping(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::kConfig, path + ": cannot open the DMS table-mapping file");
  std::ostringstream text;
  text << in.rdbuf();
  return ImportDmsMapping(text.str(), path);
}

std::string ExportDmsMapping(const config::SetConfig& set) {
  ordered_json rules = ordered_json::array();
  int next_id = 1;
  for (const auto& table : set.tables) {
    ordered_json rule = NewRule("selection", next_id++);
    rule["object-locator"] = LocatorJson(table.name);
    rule["rule-action"] = "explicit";
    rule["filters"] = ordered_json::array();
    rules.push_back(std::move(rule));
  }
  for (const auto& table : set.tables) {
    if (table.lob == config::LobSettings{}) continue;
    ordered_json rule = NewRule("table-settings", next_id++);
    rule["object-locator"] = LocatorJson(table.name);
    rule["lob-settings"] = LobSettingsJson(table.lob);
    rules.push_back(std::move(rule));
  }
  ordered_json document = ordered_json::object();
  document["rules"] = std::move(rules);
  return document.dump(4) + "\n";
}

}  // namespace walferry::plan
