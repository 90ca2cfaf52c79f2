// plan/dms_mapping.h
//
// Reads and writes AWS DMS table-mapping documents, so a migration planned for DMS (the playbook's per-slot JSON)
// can become a walferry.yaml and back. Pure: text in, values out; Load reads a file, nothing else does I/O.
//
// Import understands rule-type "selection" (rule-action include | exclude | explicit, object-locator schema-name /
// table-name with '%' wildcards) and rule-type "table-settings" with lob-settings. Anything walferry cannot carry
// exactly is an error naming the rule, never skipped: other rule types (transformation renames columns/tables,
// which walferry does not do), selection filters (row subsets), wildcards in table-settings, unknown keys.
//
// LOB mapping (DMS lob-settings <-> config::LobSettings):
//   limited, bulk-max-size N  <->  max_kb N, policy truncate   (DMS truncates above the limit; kept explicit)
//   unlimited                 <->  no max_kb, policy error      (bulk-max-size is DMS's chunk size; not a limit)
//   none                       ->  no max_kb, policy error, plus a note: DMS would drop the LOB columns, walferry
//                                  always carries them whole
//   max_kb N, policy error     ->  unlimited (DMS cannot stop on a large value; carrying it whole is the safe
//                                  direction). This is the one export that does not import back identically.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "pg/quote.h"

namespace walferry::plan {

struct DmsTableLob {
  pg::TableName table;
  config::LobSettings lob;

  bool operator==(const DmsTableLob&) const = default;
};

struct DmsImport {
  // Selection rules in document order; "explicit" becomes an include rule without wildcards.
  std::vector<config::SelectionRule> rules;
  // One entry per table-settings rule with lob-settings, in document order.
  std::vector<DmsTableLob> lob;
  // Things a person should know about the translation (e.g. lob mode none); never errors.
  std::vector<std::string> notes;
};

// Parses a table-mapping JSON document. `path` is used in messages only. Throws Error(kConfig):
//   malformed JSON    "FILE:LINE:COLUMN: malformed JSON: ..."
//   semantic problem  "FILE: rules[3] (rule-id 42): object-locator.table-name: missing; ..."
[[nodiscard]] DmsImport ImportDmsMapping(const std::string& json_text, const std::string& path);
// Reads the file and imports it. Throws Error(kConfig) when it cannot be read.
[[nodiscard]] DmsImport LoadDmsMapping(const std::string& path);

// One mapping document for one set (one DMS task per slot): an "explicit" selection rule per table, then a
// table-settings rule with lob-settings for each table whose LOB settings differ from the default (tables without
// one follow the task's LOB setting; use full LOB mode at task level to carry them whole). rule-id and rule-name
// are numeric strings counting from 1. Pretty-printed JSON, ending in a newline.
[[nodiscard]] std::string ExportDmsMapping(const config::SetConfig& set);

}  // namespace walferry::plan
