// validate/validator.h
//
// `walferry validate` end to end, per replication set:
//   1. one source snapshot (REPEATABLE READ, exported to every worker) and the WAL position it was taken at;
//   2. when the set has a CDC checkpoint on the target: wait until it has passed that position, so everything the
//      snapshot sees has been applied (the target may be further ahead: step 4 deals with that);
//   3. every table: keyed tables by key ranges (validate/range_checksum.h), keyless ones as multisets
//      (validate/multiset.h), ranges spread over `jobs` connection pairs;
//   4. with CDC: re-check each differing row up to `rechecks` times at a later snapshot; a row is consistent when
//      the target holds the value the source had at either end of the window, different when it does not and the
//      source row stayed unchanged over the window, and is tried again otherwise;
//   5. describe each difference (which columns differ), store it in the control schema's validation_failures
//      (first deleting the set's rows older than `failures_retention`);
//   6. with `repair`: rewrite the differing rows from the source (validate/repair.h) and check those rows again;
//   7. once for all sets: sequences and large objects (validate/database_objects.h).
// Owns its connections for the duration of Run(). Not thread-safe; it runs its own worker threads.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "config/config.h"
#include "validate/report.h"

namespace walferry::validate {

struct SetTables {
  std::string set_name;
  std::vector<catalog::TableInfo> tables;  // as the source's catalog describes them
};

struct Options {
  std::string source;  // conninfo
  std::string target;
  std::string control_schema = "walferry";
  int64_t range_rows = 10000;  // source rows per top-level key range
  int jobs = 4;                // connection pairs comparing ranges in parallel
  bool repair = false;
  std::chrono::milliseconds wait = std::chrono::seconds(300);  // for the CDC checkpoint to pass the snapshot
  int rechecks = 10;  // rounds; each retries only the rows whose source row changed during the previous one
  int64_t max_differences = 10000;  // per table; beyond it the table is marked truncated
  // The source takes no writes (walferry cutover stopped them and CDC has applied everything up to that point):
  // the target is compared as it is, without waiting for a CDC checkpoint, and a difference is final.
  bool source_frozen = false;
  // Also compare the database's large objects (they belong to no set): only when every table is compared.
  bool large_objects = true;
  // The switch back compares the new primary (source) with the old source (target): only the sequences the old
  // source has are the migration's (validate/database_objects.h, SequenceScope).
  bool sequences_on_both_sides_only = false;
  // retention.validation_failures: before a set's differences are stored, its stored ones older than this are
  // deleted (control/retention.h); 0 keeps them all.
  std::chrono::seconds failures_retention{config::RetentionSettings::kDefaultSeconds};
};

// The sets to compare: the config's sets (or, with none configured, one set "default" of all selected tables),
// narrowed to `set_filter` (empty: all) and `table_filter` (empty: all). Throws Error(kConfig) naming an unknown
// set, a table of the config that the source does not have, or a filter that matches nothing.
std::vector<SetTables> ResolveSets(const config::Config& config, const std::vector<catalog::TableInfo>& source_tables,
                                   const std::string& set_filter, const std::vector<pg::TableName>& table_filter);

// Runs the comparison of every set. Throws Error on a connection or SQL failure (differences are not errors: they
// are in the Report).
Report Run(const Options& options, const std::vector<SetTables>& sets);

}  // namespace walferry::validate
