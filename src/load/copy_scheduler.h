// load/copy_scheduler.h
//
// Runs table copies in parallel: `jobs` worker threads, each with its own source connection (one REPEATABLE READ
// transaction that imported the load's exported snapshot, held for all the tables it copies) and its own target
// connection. Tables are taken largest first from a shared queue. After the first failure no worker starts
// another table; the first error is rethrown once all workers stopped. Tables already committed stay copied.
// One progress log line per table: rows, bytes, rate, how many are done; and a live display (load/progress.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "load/table_copy.h"

namespace walferry::load {

struct CopyJob {
  std::string source;
  std::string target;
  std::string snapshot;
  std::string control_schema;
  std::string set_name;
  int jobs = 1;
  std::vector<TablePlan> plans;
  std::vector<bool> truncate_first;  // per plan
  // Some plan writes into a table the target had before this run (--target-prep do-nothing/truncate): its triggers
  // and foreign keys would act on the copied rows if the copy sessions cannot write as a replication apply does.
  bool into_kept_tables = false;
  // Called (from a worker thread, outside any lock) when the last plan of a table commits while other plans of the
  // job are still queued or running: the table is complete and another copy remains to overlap with. The last
  // table of the job is not announced (nothing would run beside its post-data; the final step builds it with every
  // --index-jobs). Not called after a failure or Ctrl-C.
  std::function<void(const pg::TableName&)> on_table_copied;
};

// Returns the results in completion order. Throws the first worker error.
std::vector<TableResult> RunCopies(const CopyJob& job);

// Sets each sequence owned by a column of `table_oids` (source oids) on the target to its value on the source
// (setval with is_called). Sequences are not transactional: the value read is at least the snapshot's, never
// lower, so ids handed out on the target stay unique. Returns how many were set.
int CopySequences(const std::string& source, const std::string& target, const std::string& snapshot,
                  const std::vector<uint32_t>& table_oids);

}  // namespace walferry::load
