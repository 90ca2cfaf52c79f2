// catalog/catalog.h
//
// What the source (or target) holds: its user tables with sizes, keys, replica identity and columns. Read-only:
// two catalog queries (src/sql/catalog/*.sql), no per-table round trips. Shared by assess, plan, load, cdc and
// validate so they all agree on what a table is. Extension-owned tables and walferry's control schema are left out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "pg/connection.h"
#include "pg/quote.h"

namespace walferry::catalog {

struct ColumnInfo {
  std::string name;
  int attnum = 0;
  std::string type_name;     // format_type(): "character varying(20)", "integer[]", "\"Mood\""
  uint32_t type_oid = 0;
  char type_category = 0;    // pg_type.typcategory: 'A' array, 'S' string, 'U' user, ...
  char type_kind = 0;        // pg_type.typtype
  std::string type_schema;
  bool not_null = false;
  bool generated = false;    // GENERATED ALWAYS AS (...) STORED, or VIRTUAL (18+): the target computes it
  char identity = 0;         // 'a' GENERATED ALWAYS AS IDENTITY, 'd' BY DEFAULT, 0 none
  bool has_binary_io = true;  // binary I/O that means the same on another server (not the OID-valued reg* types)
};

struct TableInfo {
  pg::TableName name;
  uint32_t oid = 0;
  char relkind = 'r';             // 'r' table, 'p' partitioned table
  char persistence = 'p';         // 'p' permanent, 'u' unlogged
  bool is_partition = false;
  std::optional<pg::TableName> parent;
  char replica_identity = 'd';    // 'd' default (primary key), 'f' full, 'i' index, 'n' nothing
  int64_t heap_bytes = 0;
  int64_t toast_bytes = 0;
  int64_t index_bytes = 0;
  double estimated_rows = 0;
  bool estimated_rows_known = true;  // false: the table was never analyzed (estimated_rows says 0)
  int64_t pages = 0;
  std::vector<std::string> primary_key;
  std::vector<std::string> replica_identity_index;
  std::vector<ColumnInfo> columns;

  int64_t total_bytes() const { return heap_bytes + toast_bytes + index_bytes; }
  // The columns that identify a row for UPDATE/DELETE and for validation: the replica identity index, else the
  // primary key; empty when there is none (REPLICA IDENTITY FULL or NOTHING without a key).
  std::vector<std::string> KeyColumns() const;
  const ColumnInfo* FindColumn(const std::string& column) const;
};

// Whether ListTables reads the tables' sizes (heap, TOAST, index bytes): a quarter of a millisecond per table.
// kSkipped leaves them 0, and estimated_rows_known then comes from reltuples alone (on 12-13 a never-analyzed table
// with rows looks known and empty): for listings that need names, columns and keys only.
// kData reads the heap's size and the TOAST table's own (not its index's) and leaves index_bytes 0: no index is
// opened, a third of kRead's cost; for work split by data size (validate's ranges).
enum class Sizes { kRead, kData, kSkipped };

// All user tables, in (schema, name) order. exclude_schema: walferry's control schema.
std::vector<TableInfo> ListTables(pg::Connection& conn, const std::string& exclude_schema = "walferry",
                                  Sizes sizes = Sizes::kRead);

// The tables a migration carries: selected by the rules, permanent (not unlogged), and for partitioned tables the
// root only (its partitions' rows travel through it). Throws Error(kConfig) when the rules select nothing.
std::vector<TableInfo> SelectTables(const std::vector<TableInfo>& all, const std::vector<config::SelectionRule>& rules);

// Finds a table by name; nullptr if absent.
const TableInfo* Find(const std::vector<TableInfo>& tables, const pg::TableName& name);

}  // namespace walferry::catalog
