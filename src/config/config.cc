#include "config/config.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "common/error.h"
#include "config/yaml_reader.h"

namespace walferry::config {

namespace {

using detail::Fields;
using detail::YamlReader;

const std::vector<std::string> kApplyModes = {"batch", "transactional"};
const std::vector<std::string> kLobPolicies = {"error", "truncate"};
const std::vector<std::string> kTargetPreps = {"error", "do-nothing", "truncate", "drop"};
const std::vector<std::string> kSyncCommits = {"on", "off", "local", "remote_write", "remote_apply"};
const std::vector<std::string> kErrorPolicies = {"stop", "log-and-continue", "suspend-table"};
const std::vector<std::string> kLogLevels = {"trace", "debug", "info", "warn", "error", "off"};
const std::vector<std::string> kLogFormats = {"text", "json"};

// Names derived from a set name must fit PostgreSQL's 63 bytes: the longest is its apply session's application_name
// "walferry_apply_<set>" (a longer one is cut by the server, and the fence that ends a dead connection's apply
// session would no longer find it: cdc/worker.h EndStaleAppliers).
constexpr size_t kMaxSetName = 63 - 15;

ApplyMode ParseApply(const YamlReader& r, const YAML::Node& node, const std::string& key) {
  return r.OneOf(node, key, kApplyModes) == "batch" ? ApplyMode::kBatch : ApplyMode::kTransactional;
}

// Table names and patterns use TableName::Parse syntax; its errors gain the file, line and key.
pg::TableName ParseName(const YamlReader& r, const YAML::Node& node, const std::string& key) {
  std::string text = r.NonEmptyString(node, key);
  try {
    return pg::TableName::Parse(text);
  } catch (const Error& e) {
    r.Fail(node, key, e.message() + "; write schema.table, quoting parts with capitals, dots or spaces");
  }
}

void ParseControl(const YamlReader& r, const YAML::Node& node, Config& config) {
  Fields f = r.Map(node, "control", {"schema", "dms_compatible_views"});
  if (f.Has("schema")) config.control_schema = r.NonEmptyString(f.At("schema").value, "control.schema");
  if (f.Has("dms_compatible_views")) {
    config.dms_compatible_views = r.Bool(f.At("dms_compatible_views").value, "control.dms_compatible_views");
  }
}

void ParseRules(const YamlReader& r, const YAML::Node& node, const std::string& key, bool include,
                Config& config) {
  std::vector<YAML::Node> items = r.List(node, key);
  for (size_t i = 0; i < items.size(); ++i) {
    pg::TableName pattern = ParseName(r, items[i], YamlReader::Index(key, i));
    config.rules.push_back(SelectionRule{pattern.schema, pattern.name, include});
  }
}

LobSettings ParseLob(const YamlReader& r, const YAML::Node& node, const std::string& key) {
  Fields f = r.Map(node, key, {"max_kb", "policy"});
  LobSettings lob;
  if (f.Has("max_kb")) {
    lob.max_kb = r.Int(f.At("max_kb").value, key + ".max_kb", 1, int64_t{1} << 40);
  }
  if (f.Has("policy")) {
    const YAML::Node& p = f.At("policy").value;
    lob.policy = r.OneOf(p, key + ".policy", kLobPolicies) == "error" ? LobPolicy::kError : LobPolicy::kTruncate;
    if (lob.policy == LobPolicy::kTruncate && !lob.max_kb) {
      r.Fail(p, key + ".policy", "'truncate' needs a limit; set " + key + ".max_kb or use policy 'error'");
    }
  }
  return lob;
}

TableConfig ParseTable(const YamlReader& r, const YAML::Node& node, const std::string& key) {
  Fields f = r.Map(node, key, {"name", "apply", "lob", "reason"});
  TableConfig table;
  table.name = ParseName(r, r.Require(f, "name"), key + ".name");
  if (f.Has("apply")) table.apply = ParseApply(r, f.At("apply").value, key + ".apply");
  if (f.Has("lob")) table.lob = ParseLob(r, f.At("lob").value, key + ".lob");
  if (f.Has("reason")) table.reason = r.String(f.At("reason").value, key + ".reason");
  return table;
}

SetConfig ParseSet(const YamlReader& r, const YAML::Node& node, const std::string& key) {
  Fields f = r.Map(node, key, {"name", "apply", "tables"});
  SetConfig set;
  const YAML::Node& name = r.Require(f, "name");
  set.name = r.NonEmptyString(name, key + ".name");
  bool valid = set.name.size() <= kMaxSetName;
  for (char c : set.name) valid = valid && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (!valid) {
    r.Fail(name, key + ".name",
           "'" + set.name + "' cannot name a replication slot; use lower-case letters, digits and '_', at most " +
               std::to_string(kMaxSetName) + " characters");
  }
  if (f.Has("apply")) set.apply = ParseApply(r, f.At("apply").value, key + ".apply");
  const YAML::Node& tables = r.Require(f, "tables");
  std::vector<YAML::Node> items = r.List(tables, key + ".tables");
  if (items.empty()) r.Fail(tables, key + ".tables", "a set needs at least one table");
  for (size_t i = 0; i < items.size(); ++i) {
    set.tables.push_back(ParseTable(r, items[i], YamlReader::Index(key + ".tables", i)));
  }
  return set;
}

// Set names must be unique (they name slots) and a table belongs to exactly one set.
void CheckSetsDisjoint(const YamlReader& r, const std::vector<YAML::Node>& nodes,
                       const std::vector<SetConfig>& sets) {
  std::map<std::string, size_t> set_index;
  std::map<pg::TableName, std::string> table_key;
  for (size_t s = 0; s < sets.size(); ++s) {
    std::string key = YamlReader::Index("sets", s);
    auto [it, fresh] = set_index.emplace(sets[s].name, s);
    if (!fresh) {
      r.Fail(nodes[s]["name"], key + ".name",
             "set name '" + sets[s].name + "' is already used by sets[" + std::to_string(it->second) +
                 "]; set names must be unique (each names a slot and a publication)");
    }
    for (size_t t = 0; t < sets[s].tables.size(); ++t) {
      std::string tkey = YamlReader::Index(key + ".tables", t);
      auto [prev, added] = table_key.emplace(sets[s].tables[t].name, tkey);
      if (!added) {
        r.Fail(nodes[s]["tables"][t]["name"], tkey + ".name",
               "table " + sets[s].tables[t].name.Display() + " is already listed at " + prev->second +
                   "; a table belongs to exactly one set");
      }
    }
  }
}

void ParseSets(const YamlReader& r, const YAML::Node& node, Config& config) {
  std::vector<YAML::Node> items = r.List(node, "sets");
  for (size_t i = 0; i < items.size(); ++i) {
    config.sets.push_back(ParseSet(r, items[i], YamlReader::Index("sets", i)));
  }
  CheckSetsDisjoint(r, items, config.sets);
}

// Reads an optional int setting "section.name" into `out` when present.
void ReadInt(const YamlReader& r, const Fields& f, const std::string& name, int64_t min, int64_t max, int& out) {
  if (f.Has(name)) out = static_cast<int>(r.Int(f.At(name).value, YamlReader::Child(f.key, name), min, max));
}

// Reads an optional enumerated setting "section.name" into `out` when present.
void ReadOneOf(const YamlReader& r, const Fields& f, const std::string& name, const std::vector<std::string>& allowed,
               std::string& out) {
  if (f.Has(name)) out = r.OneOf(f.At(name).value, YamlReader::Child(f.key, name), allowed);
}

void ParseLoad(const YamlReader& r, const YAML::Node& node, LoadSettings& load) {
  Fields f = r.Map(node, "load", {"table_jobs", "index_jobs", "split_tables_larger_than", "target_prep"});
  ReadInt(r, f, "table_jobs", 0, 1024, load.table_jobs);
  ReadInt(r, f, "index_jobs", 1, 1024, load.index_jobs);
  if (f.Has("split_tables_larger_than")) {
    load.split_tables_larger_than_bytes =
        r.Size(f.At("split_tables_larger_than").value, "load.split_tables_larger_than");
  }
  ReadOneOf(r, f, "target_prep", kTargetPreps, load.target_prep);
}

void ParseCdc(const YamlReader& r, const YAML::Node& node, CdcSettings& cdc) {
  Fields f = r.Map(node, "cdc", {"heartbeat_seconds", "synchronous_commit", "error_policy", "max_retries",
                                 "retry_for", "lock_timeout_seconds", "statement_timeout_seconds", "wal_warn",
                                 "batch_max_rows", "batch_max_size", "batch_max_ms", "apply_connections", "streaming",
                                 "spill_dir"});
  ReadInt(r, f, "heartbeat_seconds", 0, 86400, cdc.heartbeat_seconds);
  ReadOneOf(r, f, "synchronous_commit", kSyncCommits, cdc.synchronous_commit);
  ReadOneOf(r, f, "error_policy", kErrorPolicies, cdc.error_policy);
  ReadInt(r, f, "max_retries", 0, 1000000, cdc.max_retries);
  if (f.Has("retry_for")) cdc.retry_for_seconds = r.Seconds(f.At("retry_for").value, "cdc.retry_for", 1, 7 * 86400);
  ReadInt(r, f, "lock_timeout_seconds", 0, 86400, cdc.lock_timeout_seconds);
  ReadInt(r, f, "statement_timeout_seconds", 0, 86400, cdc.statement_timeout_seconds);
  if (f.Has("wal_warn")) cdc.wal_warn_bytes = r.Size(f.At("wal_warn").value, "cdc.wal_warn");
  ReadInt(r, f, "batch_max_rows", 1, 10000000, cdc.batch_max_rows);
  if (f.Has("batch_max_size")) {
    cdc.batch_max_bytes = r.Size(f.At("batch_max_size").value, "cdc.batch_max_size");
    if (cdc.batch_max_bytes < (int64_t{1} << 20) || cdc.batch_max_bytes > (int64_t{1} << 30)) {
      r.Fail(f.At("batch_max_size").value, "cdc.batch_max_size", "must be between 1MB and 1GB");
    }
  }
  ReadInt(r, f, "batch_max_ms", 1, 60000, cdc.batch_max_ms);
  ReadInt(r, f, "apply_connections", 1, 2, cdc.apply_connections);
  if (f.Has("streaming")) {
    const std::string mode = r.OneOf(f.At("streaming").value, "cdc.streaming", {"on", "spill", "off"});
    cdc.streaming = mode == "on"      ? CdcSettings::Streaming::kOn
                    : mode == "spill" ? CdcSettings::Streaming::kSpill
                                      : CdcSettings::Streaming::kOff;
  }
  if (f.Has("spill_dir")) cdc.spill_dir = r.String(f.At("spill_dir").value, "cdc.spill_dir");
}

// Ten years: a longer retention is "forever", which is written 0.
constexpr int kMaxRetentionSeconds = 3650 * 86400;

void ParseRetention(const YamlReader& r, const YAML::Node& node, RetentionSettings& retention) {
  Fields f = r.Map(node, "retention", {"apply_exceptions", "validation_failures"});
  if (f.Has("apply_exceptions")) {
    retention.apply_exceptions_seconds =
        r.Seconds(f.At("apply_exceptions").value, "retention.apply_exceptions", 0, kMaxRetentionSeconds);
  }
  if (f.Has("validation_failures")) {
    retention.validation_failures_seconds =
        r.Seconds(f.At("validation_failures").value, "retention.validation_failures", 0, kMaxRetentionSeconds);
  }
}

void ParseLog(const YamlReader& r, const YAML::Node& node, Config& config) {
  Fields f = r.Map(node, "log", {"level", "format"});
  ReadOneOf(r, f, "level", kLogLevels, config.log_level);
  ReadOneOf(r, f, "format", kLogFormats, config.log_format);
}

Config ParseDocument(const YamlReader& r, const YAML::Node& root, const std::string& path) {
  if (root.IsNull()) r.Fail(root, "", "the document is empty; it needs at least 'version: 1'");
  Fields f = r.Map(root, "", {"version", "source", "target", "migration_id", "control", "include", "exclude", "sets",
                              "load", "cdc", "retention", "log"});
  Config config;
  config.path = path;
  r.Int(r.Require(f, "version"), "version", 1, 1);
  if (f.Has("source")) config.source = r.String(f.At("source").value, "source");
  if (f.Has("target")) config.target = r.String(f.At("target").value, "target");
  if (f.Has("migration_id")) {
    config.migration_id = r.NonEmptyString(f.At("migration_id").value, "migration_id");
    bool ok = config.migration_id.size() <= 32;
    for (char c : config.migration_id) {
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
    }
    if (!ok) {
      r.Fail(f.At("migration_id").value, "migration_id",
             "1-32 characters of a-z, 0-9, _ and - (walferry plan writes 12 hex digits); it names the migration's "
             "replication slots, so it must not change while they exist");
    }
  }
  if (f.Has("control")) ParseControl(r, f.At("control").value, config);
  // Include rules first, then exclude rules: their order has no meaning (see Selected) but is kept stable.
  if (f.Has("include")) ParseRules(r, f.At("include").value, "include", true, config);
  if (f.Has("exclude")) ParseRules(r, f.At("exclude").value, "exclude", false, config);
  if (f.Has("sets")) ParseSets(r, f.At("sets").value, config);
  if (f.Has("load")) ParseLoad(r, f.At("load").value, config.load);
  if (f.Has("cdc")) ParseCdc(r, f.At("cdc").value, config.cdc);
  if (f.Has("retention")) ParseRetention(r, f.At("retention").value, config.retention);
  if (f.Has("log")) ParseLog(r, f.At("log").value, config);
  return config;
}

}  // namespace

const char* ApplyModeName(ApplyMode mode) {
  switch (mode) {
    case ApplyMode::kBatch: return "batch";
    case ApplyMode::kTransactional: return "transactional";
  }
  return "unknown";
}

const char* LobPolicyName(LobPolicy policy) {
  switch (policy) {
    case LobPolicy::kError: return "error";
    case LobPolicy::kTruncate: return "truncate";
  }
  return "unknown";
}

Config Parse(const std::string& yaml_text, const std::string& path) {
  YamlReader reader(path);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    std::string where = path.empty() ? "<config>" : path;
    int line = e.mark.line >= 0 ? e.mark.line + 1 : 1;
    int column = e.mark.column >= 0 ? e.mark.column + 1 : 1;
    throw Error(ErrorKind::kConfig, where + ":" + std::to_string(line) + ": malformed YAML at column " +
                                        std::to_string(column) + ": " + e.msg);
  }
  return ParseDocument(reader, root, path);
}

Config Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(ErrorKind::kConfig, path + ": cannot open the configuration file")
        .WithHint("run `walferry plan` to write one, or pass --config PATH");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

void ApplyEnvironment(Config& config) {
  // Set-but-empty variables are ignored: an empty conninfo would silently mean "libpq defaults".
  if (const char* source = std::getenv("WALFERRY_SOURCE"); source != nullptr && *source != '\0') {
    config.source = source;
  }
  if (const char* target = std::getenv("WALFERRY_TARGET"); target != nullptr && *target != '\0') {
    config.target = target;
  }
}

bool WildcardMatch(std::string_view pattern, std::string_view name) {
  // Iterative matcher: on mismatch, let the most recent '%' absorb one more character. O(n*m) worst case.
  size_t p = 0, n = 0;
  size_t star = std::string_view::npos, star_n = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '%') {
      star = p++;
      star_n = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++star_n;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

bool Selected(const std::vector<SelectionRule>& rules, const pg::TableName& table) {
  bool any_include = false;
  bool included = false;
  for (const auto& rule : rules) {
    bool match = WildcardMatch(rule.schema_pattern, table.schema) && WildcardMatch(rule.table_pattern, table.name);
    if (rule.include) {
      any_include = true;
      included = included || match;
    } else if (match) {
      return false;
    }
  }
  return included || !any_include;
}

std::vector<std::string> SetNames(const Config& config) {
  std::vector<std::string> names;
  for (const auto& s : config.sets) names.push_back(s.name);
  if (names.empty()) names.push_back("default");
  return names;
}

}  // namespace walferry::config
