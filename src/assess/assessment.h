// assess/assessment.h
//
// `walferry assess`: a read-only inventory of the source for a migration. Per table: sizes, estimated rows, write
// activity, keys, replica identity, unique indexes, LOB columns with their measured stored sizes, columns that need
// care, and findings (each with its reason and fix). Source-wide: relations that cannot be carried, large objects,
// and preflight checks (preflight.h). Never writes to any server: catalog queries, pg_stat_* reads and SELECTs.
//
// Who calls what: Assess() gathers everything (inventory.cc, lob_sizes.cc, preflight.cc); ComputeFindings() is
// pure (findings.cc); report.h renders the result for people and as JSON (docs/schema/assess-v1.json).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "config/config.h"
#include "pg/connection.h"

namespace walferry::assess {

// A table whose largest LOB value reaches this size gets a `lob` finding and a recommended limit.
inline constexpr int64_t kLobFindingBytes = 32 * 1024;

struct AssessOptions {
  std::vector<config::SelectionRule> rules;  // which tables the migration carries (empty: all)
  std::string control_schema = "walferry";
  // LOB sizes: exact (sample_percent unset) scans every row; otherwise TABLESAMPLE SYSTEM (percent), an estimate.
  std::optional<double> sample_percent;
  // Count the rows whose LOB values exceed this many KB (the truncations a DMS-style limit would cause).
  std::optional<int64_t> lob_limit_kb;
  // > 0: measure write rates over this many seconds (two samples); 0: average since the statistics were reset.
  int interval_seconds = 0;
  int sets_needed = 1;  // replication slots and WAL senders the migration will use
  bool sets_counted = false;  // sets_needed is the configuration's (or plan's) set count, not a lower bound
  std::string target;   // optional target conninfo: checks the extensions it needs are available there
};

struct LobColumn {
  std::string column;
  std::string type_name;
  bool large_object = false;  // an oid column referring to pg_largeobject: sizes are the objects' lengths
  int64_t max_bytes = 0;      // largest stored value (pg_column_size: after compression, as TOAST keeps it)
  int64_t p99_bytes = 0;      // 99th percentile (percentile_disc)
  std::optional<int64_t> rows_over_limit;  // with AssessOptions::lob_limit_kb
};

struct CareColumn {
  std::string column;
  std::string type_name;
  std::string kind;    // generated | identity | array | enum | domain | composite | extension_type
  std::string advice;  // what walferry does about it, or what the user must do
};

struct UniqueIndex {
  std::string name;
  std::vector<std::string> columns;
  bool is_constraint = false;  // a UNIQUE constraint (else a unique index)
};

struct Finding {
  std::string code;    // pk_and_unique | no_replica_identity | lob | unlogged | partitioned | no_select ...
  std::string reason;  // why it matters
  std::string fix;     // what to do (an exact statement where there is one)
};

// Whether `walferry load` refuses a table with this finding (no replica identity, a key with a generated column on
// a source older than 18).
bool BlocksLoad(const Finding& f);

// The first generated column of the table's replica identity key: the index's columns under REPLICA IDENTITY
// USING INDEX, the primary key's under DEFAULT; nullopt under FULL or NOTHING, or when no key column is generated.
// Such a key can be matched on the target only when the source publishes generated columns: PostgreSQL 18+ with
// the publication parameter publish_generated_columns = stored (pg::ServerFeatures::publish_generated_columns);
// pgoutput never sends a generated column before 18. The column is always a STORED one: PostgreSQL 18 refuses a
// primary key or an index on a VIRTUAL generated column ("... on virtual generated columns are not supported"),
// and a virtual column is never published. Pure; the same rule for load, assess and the cutover's way back.
std::optional<std::string> GeneratedIdentityColumn(const catalog::TableInfo& info);

struct TableAssessment {
  catalog::TableInfo info;
  bool selected = false;     // the migration carries it (selected by the rules, permanent, not a partition)
  bool can_select = false;
  int partitions = 0;        // for partitioned tables
  int64_t inserts = 0, updates = 0, deletes = 0;  // since stats reset, or during the interval
  double write_rate = 0;     // (inserts + updates + deletes) per second
  std::vector<UniqueIndex> unique_indexes;
  std::vector<LobColumn> lob_columns;
  bool lob_measured = false;  // false: not selected or not readable
  bool lob_estimated = false; // measured on a sample
  int64_t rows_scanned = 0;
  std::optional<int64_t> rows_over_limit;
  std::vector<CareColumn> care;
  std::vector<Finding> findings;
  std::vector<pg::TableName> references;  // tables its foreign keys point at (itself excluded), in name order
  // The source publishes stored generated columns (18+): a replica identity that includes one is carried (finding
  // generated_key_published) instead of refused (generated_key). Set by Assess() before ComputeFindings().
  bool source_publishes_generated_columns = false;

  bool HasFinding(const std::string& code) const;
  // Largest LOB value of the table in bytes (0 without LOB columns or measurement).
  int64_t MaxLobBytes() const;
  // The per-table LOB limit to configure: the measured maximum plus 25% headroom, rounded up to 64 KB; unset when
  // the table has no measured LOB values. Policy error: a larger value later stops the migration, never truncates.
  std::optional<config::LobSettings> RecommendedLob() const;
};

struct OtherRelation {
  pg::TableName name;
  std::string kind;  // foreign | temporary | sequence
};

enum class CheckStatus { kPass, kWarn, kFail };
const char* CheckStatusName(CheckStatus status);

struct PreflightCheck {
  std::string name;  // wal_level, replication_slots, ...
  CheckStatus status = CheckStatus::kPass;
  std::string detail;  // what was found
  std::string fix;     // empty on PASS
};

struct Assessment {
  std::string source;  // redacted conninfo
  std::string server_version;
  std::string role;
  std::string database;
  std::string rate_basis;  // "interval" | "since_stats_reset"
  double rate_seconds = 0;
  std::string lob_sizing;  // "exact" | "sample"
  std::optional<double> sample_percent;
  std::optional<int64_t> lob_limit_kb;
  std::vector<TableAssessment> tables;  // every user table except partitions, in (schema, name) order
  std::vector<OtherRelation> others;
  int64_t large_objects = 0;
  int64_t large_object_bytes = 0;
  std::vector<std::string> extensions;  // installed on the source, other than plpgsql
  std::vector<Finding> findings;        // source-wide: large objects, sequences, foreign/temporary tables
  std::vector<PreflightCheck> preflight;

  bool AnyFail() const;
  std::vector<const TableAssessment*> Selected() const;
};

// Runs the whole assessment on `source` (read-only). Throws Error on connection/SQL failures (kConfig when the
// selection rules select no table). Failing preflight checks are results, not errors: see Assessment::AnyFail.
[[nodiscard]] Assessment Assess(pg::Connection& source, const AssessOptions& options);

// Fills t.findings and t.care from the facts already in t. Pure.
void ComputeFindings(TableAssessment& t);
// Source-wide findings from others, large objects and extensions. Pure.
std::vector<Finding> SourceFindings(const Assessment& a);

// True for the column types walferry measures as LOBs: text, varchar without length, bytea, json, jsonb, xml, and
// oid (large-object references).
bool IsLobColumn(const catalog::ColumnInfo& column);

}  // namespace walferry::assess
