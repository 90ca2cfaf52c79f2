// ToYaml: renders a Config as walferry.yaml. Hand-written rather than through YAML::Emitter so the layout,
// comments and quoting are exactly what docs/config.md shows. Every string is double-quoted, so no value can be
// read back as another type (a set named "true", a conninfo with ': ').
#include <sstream>

#include "config/config.h"

namespace walferry::config {

namespace {

std::string Quote(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out = "\"";
  for (char c : s) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// A comment must stay on one line.
std::string CommentText(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

// One part of a selection pattern in TableName::Parse syntax: bare when it reads back unchanged, else quoted.
std::string PatternPart(const std::string& part) {
  bool bare = !part.empty();
  for (char c : part) {
    bare = bare && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '%');
  }
  return bare ? part : pg::QuoteIdent(part);
}

std::string Size(int64_t bytes) {
  static const std::pair<const char*, int> kUnits[] = {{"TB", 40}, {"GB", 30}, {"MB", 20}, {"kB", 10}};
  for (const auto& [unit, shift] : kUnits) {
    int64_t scale = int64_t{1} << shift;
    if (bytes != 0 && bytes % scale == 0) return Quote(std::to_string(bytes / scale) + unit);
  }
  return std::to_string(bytes);
}

void WriteRules(std::ostream& out, const std::vector<SelectionRule>& rules, bool include) {
  bool any = false;
  for (const auto& rule : rules) any = any || rule.include == include;
  if (!any) return;
  out << (include ? "include:\n" : "exclude:\n");
  for (const auto& rule : rules) {
    if (rule.include != include) continue;
    out << "  - " << Quote(PatternPart(rule.schema_pattern) + "." + PatternPart(rule.table_pattern)) << "\n";
  }
}

void WriteTable(std::ostream& out, const TableConfig& table) {
  out << "      - name: " << Quote(table.name.Display());
  if (!table.reason.empty()) out << "  # " << CommentText(table.reason);
  out << "\n";
  if (table.apply) out << "        apply: " << ApplyModeName(*table.apply) << "\n";
  if (table.lob != LobSettings{}) {
    out << "        lob:\n";
    if (table.lob.max_kb) out << "          max_kb: " << *table.lob.max_kb << "\n";
    out << "          policy: " << LobPolicyName(table.lob.policy) << "\n";
  }
  if (!table.reason.empty()) out << "        reason: " << Quote(table.reason) << "\n";
}

void WriteSets(std::ostream& out, const std::vector<SetConfig>& sets) {
  if (sets.empty()) return;
  out << "sets:\n";
  for (const auto& set : sets) {
    out << "  - name: " << Quote(set.name) << "\n";
    out << "    apply: " << ApplyModeName(set.apply) << "\n";
    out << "    tables:\n";
    for (const auto& table : set.tables) WriteTable(out, table);
  }
}

}  // namespace

std::string FormatDuration(int seconds) {
  static const std::pair<const char*, int> kUnits[] = {{"d", 86400}, {"h", 3600}, {"m", 60}};
  for (const auto& [unit, scale] : kUnits) {
    if (seconds != 0 && seconds % scale == 0) return std::to_string(seconds / scale) + unit;
  }
  return seconds == 0 ? "0" : std::to_string(seconds) + "s";
}

std::string ToYaml(const Config& config) {
  std::ostringstream out;
  out << "# walferry configuration; format: docs/config.md\n";
  out << "version: 1\n";
  if (!config.source.empty()) out << "source: " << Quote(config.source) << "\n";
  if (!config.target.empty()) out << "target: " << Quote(config.target) << "\n";
  if (!config.migration_id.empty()) {
    out << "# names this migration's slots and publications (with the source database); keep it while they exist\n";
    out << "migration_id: " << Quote(config.migration_id) << "\n";
  }
  out << "control:\n";
  out << "  schema: " << Quote(config.control_schema) << "\n";
  out << "  dms_compatible_views: " << (config.dms_compatible_views ? "true" : "false") << "\n";
  WriteRules(out, config.rules, true);
  WriteRules(out, config.rules, false);
  WriteSets(out, config.sets);
  out << "load:\n";
  out << "  table_jobs: " << config.load.table_jobs << "\n";
  out << "  index_jobs: " << config.load.index_jobs << "\n";
  out << "  split_tables_larger_than: " << Size(config.load.split_tables_larger_than_bytes) << "\n";
  out << "  target_prep: " << Quote(config.load.target_prep) << "\n";
  out << "cdc:\n";
  out << "  heartbeat_seconds: " << config.cdc.heartbeat_seconds << "\n";
  out << "  synchronous_commit: " << Quote(config.cdc.synchronous_commit) << "\n";
  out << "  error_policy: " << Quote(config.cdc.error_policy) << "\n";
  out << "  max_retries: " << config.cdc.max_retries << "\n";
  out << "  retry_for: " << config.cdc.retry_for_seconds << "s\n";
  out << "  lock_timeout_seconds: " << config.cdc.lock_timeout_seconds << "\n";
  out << "  statement_timeout_seconds: " << config.cdc.statement_timeout_seconds << "\n";
  out << "  wal_warn: " << Size(config.cdc.wal_warn_bytes) << "\n";
  out << "  batch_max_rows: " << config.cdc.batch_max_rows << "\n";
  out << "  batch_max_size: " << Size(config.cdc.batch_max_bytes) << "\n";
  out << "  batch_max_ms: " << config.cdc.batch_max_ms << "\n";
  out << "  apply_connections: " << config.cdc.apply_connections << "\n";
  out << "  streaming: "
      << (config.cdc.streaming == CdcSettings::Streaming::kOn      ? "\"on\""
          : config.cdc.streaming == CdcSettings::Streaming::kSpill ? "\"spill\""
                                                                           : "\"off\"")
      << "\n";
  out << "  spill_dir: " << Quote(config.cdc.spill_dir) << "\n";
  out << "retention:  # 0 keeps every row\n";
  out << "  apply_exceptions: " << FormatDuration(config.retention.apply_exceptions_seconds) << "\n";
  out << "  validation_failures: " << FormatDuration(config.retention.validation_failures_seconds) << "\n";
  out << "log:\n";
  out << "  level: " << Quote(config.log_level) << "\n";
  out << "  format: " << Quote(config.log_format) << "\n";
  return out.str();
}

}  // namespace walferry::config
