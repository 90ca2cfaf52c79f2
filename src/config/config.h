// config/config.h
//
// walferry.yaml: the migration's configuration, written by `walferry plan` and read by every command.
// Precedence: command-line flags > environment (WALFERRY_SOURCE, WALFERRY_TARGET) > the file > defaults.
// Load() validates everything it reads; an error names the file, line and key (Error kind kConfig, exit code 2).
// Unknown keys are errors too (a typo must not silently fall back to a default). Format: docs/config.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pg/quote.h"

namespace walferry::config {

// How a set's changes are applied on the target. kTransactional keeps source order exactly (required for tables
// with a primary key and a separate unique constraint); kBatch may group and reorder per table.
enum class ApplyMode { kBatch, kTransactional };
const char* ApplyModeName(ApplyMode mode);

// What to do with a large value (LOB) above the limit. walferry never truncates silently: kError stops,
// kTruncate truncates and records an apply exception (the user's explicit choice).
enum class LobPolicy { kError, kTruncate };
const char* LobPolicyName(LobPolicy policy);

struct LobSettings {
  std::optional<int64_t> max_kb;  // unset: no limit (values are carried whole)
  LobPolicy policy = LobPolicy::kError;

  bool operator==(const LobSettings&) const = default;
};

struct TableConfig {
  pg::TableName name;
  std::optional<ApplyMode> apply;  // unset: the set's mode
  LobSettings lob;
  std::string reason;  // why plan chose this (e.g. "pk_and_unique -> transactional"); informational

  bool operator==(const TableConfig&) const = default;
};

struct SetConfig {
  std::string name;  // also names the slot and publication: walferry_<name>
  ApplyMode apply = ApplyMode::kBatch;
  std::vector<TableConfig> tables;

  bool operator==(const SetConfig&) const = default;
};

// A DMS-style selection rule: '%' wildcards on schema and table name.
struct SelectionRule {
  std::string schema_pattern = "%";
  std::string table_pattern = "%";
  bool include = true;

  bool operator==(const SelectionRule&) const = default;
};

struct LoadSettings {
  int table_jobs = 0;  // 0: number of cores
  int index_jobs = 2;
  int64_t split_tables_larger_than_bytes = 0;  // 0: never split
  std::string target_prep = "error";            // error | do-nothing | truncate | drop

  bool operator==(const LoadSettings&) const = default;
};

struct CdcSettings {
  int heartbeat_seconds = 0;  // 0: off
  std::string synchronous_commit = "off";
  std::string error_policy = "stop";  // stop | log-and-continue | suspend-table
  int max_retries = 0;           // consecutive retries of a connection failure; 0: no count limit
  int retry_for_seconds = 900;   // cdc.retry_for: how long consecutive failures are retried (a target failover)
  // The apply session's lock_timeout and statement_timeout, in seconds; 0: off. A change that hits one is retried.
  int lock_timeout_seconds = 60;
  int statement_timeout_seconds = 0;
  // cdc.wal_warn: a running CDC (and `walferry status`) warns when a set's slot retains more WAL than this.
  int64_t wal_warn_bytes = int64_t{10} << 30;
  // Batch apply (tables in `apply: batch`, docs/cdc.md "Batch apply"): a batch of whole source transactions is
  // committed in one target transaction once it holds this many row changes, this many bytes of values, or is this
  // old (cdc.batch_max_rows, cdc.batch_max_size, cdc.batch_max_ms). The net rows of one batch are held in memory
  // up to batch_max_size; a transaction bigger than that is applied set-based in parts of that size.
  int batch_max_rows = 100000;
  int64_t batch_max_bytes = int64_t{64} << 20;
  int batch_max_ms = 1000;
  // cdc.apply_connections (1 or 2; docs/cdc.md "Two apply connections"): with 2, a set with batch tables applies
  // its next batch on a second target connection while the target still applies the one before; commits stay in
  // source order. 1 by default: on the 2-core bench machine the second connection gained 0-3% at best (README).
  int apply_connections = 1;
  // Streaming of large in-progress transactions (pgoutput protocol 2+, 14+ sources; docs/cdc.md "Streaming"):
  //   on     applied into an open target transaction while the source runs, committed at its commit (and kept in
  //          a spill file too, applied from it at the commit when the early apply had to give up);
  //   spill  kept in a spill file only and applied at its commit (no long-open target transaction);
  //   off    pgoutput protocol 1: the source keeps a large transaction in its own spill files and sends it after
  //          its commit.
  // cdc.spill_dir: where walferry keeps a streamed transaction until its commit; "" is TMPDIR.
  enum class Streaming { kOn, kSpill, kOff };
  Streaming streaming = Streaming::kOn;
  std::string spill_dir;

  bool operator==(const CdcSettings&) const = default;
};

// retention: how long the control tables that grow with every failure keep a row, in seconds; 0 keeps every row.
// apply_exceptions is pruned by each set's running CDC worker, validation_failures by validate (control/retention.h).
struct RetentionSettings {
  static constexpr int kDefaultSeconds = 30 * 86400;  // 30 days
  int apply_exceptions_seconds = kDefaultSeconds;
  int validation_failures_seconds = kDefaultSeconds;

  bool operator==(const RetentionSettings&) const = default;
};

struct Config {
  std::string path;  // the file it came from, empty when none
  std::string source;
  std::string target;
  // Names this migration's slots and publications together with the source database (control::SlotName), so that
  // migrations of one source cluster never share one. Written by walferry plan; empty in a walferry.yaml from
  // before: the names stay walferry_<set>. 1-32 characters of [a-z0-9_-].
  std::string migration_id;
  std::string control_schema = "walferry";
  bool dms_compatible_views = false;
  std::vector<SelectionRule> rules;
  std::vector<SetConfig> sets;
  LoadSettings load;
  CdcSettings cdc;
  RetentionSettings retention;
  std::string log_level = "info";
  std::string log_format = "text";  // text | json

  // Field-by-field. Rule order is part of equality: Parse yields include rules first, then exclude rules.
  bool operator==(const Config&) const = default;
};

// Reads and validates a YAML file. Throws Error(kConfig) "FILE:LINE: key 'sets[0].apply': ..." on any problem.
Config Load(const std::string& path);
// Parses YAML text (path used in messages only).
Config Parse(const std::string& yaml_text, const std::string& path);
// Applies WALFERRY_SOURCE / WALFERRY_TARGET when set and non-empty.
void ApplyEnvironment(Config& config);
// Renders YAML that Parse reads back to an equal Config, for any Config that Parse could have produced (include
// rules before exclude rules). Each table's reason is written as its `reason:` key and as a comment people see.
std::string ToYaml(const Config& config);

// A duration as walferry.yaml writes it, in the largest unit that divides it: "30d", "2h", "15m", "90s" or "0".
std::string FormatDuration(int seconds);

// True when `name` matches the SQL-LIKE-style pattern where '%' matches any run of characters ('_' is literal).
bool WildcardMatch(std::string_view pattern, std::string_view name);
// DMS semantics: a table is selected if some include rule matches and no exclude rule matches; rule order does
// not matter. With no include rules at all, every table is a candidate (so `exclude:` alone means "all but").
bool Selected(const std::vector<SelectionRule>& rules, const pg::TableName& table);

// The set names a configuration describes: its sets, or "default" (every selected table) when it has none.
std::vector<std::string> SetNames(const Config& config);

}  // namespace walferry::config
