// load/early_post_data.h
//
// Builds each table's own indexes and keys while other tables are still copying, instead of after every copy.
// What a table's copy commit allows is PostDataPlan::early (load/schema.h, src/sql/load/post_data_early.sql): the
// indexes and primary key, unique and exclusion constraints of a plain table (not partitioned, not a partition).
// Everything else (foreign keys, triggers, partitioned indexes and their ATTACH, comments) stays for the last step,
// RemainingEntries, with whatever early entry was not built.
// `jobs` threads (--index-jobs) each take every table that is ready when they are free and create its entries with
// one pg_restore (-j 1): thousands of small tables cost a few pg_restore runs, not one each.
// Correctness does not depend on what was built early: a set interrupted now is "loading", and its --resume
// empties the tables (TRUNCATE keeps indexes), copies again, and leaves out what the target has by catalog
// (SchemaCopier::PreparePostData with resuming). An index present while a table is copied again costs time only.
// Thread safety: TableCopied from any thread (the copy workers); the rest from the thread that made the object.
// Errors: a failed batch stops every thread from starting another; Stop rethrows it (Error(kIo) with pg_restore's
// output, Error(kCancelled) on Ctrl-C). The destructor stops and waits for the running batches, throwing nothing.
#pragma once

#include <condition_variable>
#include <exception>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "load/schema.h"

namespace walferry::load {

class EarlyPostData {
 public:
  // `copier` and `plan` must outlive this object. jobs <= 0: nothing is built early.
  EarlyPostData(const SchemaCopier& copier, const PostDataPlan& plan, int jobs);
  ~EarlyPostData();
  EarlyPostData(const EarlyPostData&) = delete;
  EarlyPostData& operator=(const EarlyPostData&) = delete;

  // Every row of `table` is committed on the target and no copy into it remains in this run. Tables without early
  // entries are ignored.
  void TableCopied(const pg::TableName& table);
  // Starts no further batch, waits for the running ones, rethrows the first error. Idempotent.
  void Stop();
  // plan.entries without those built: for the last step. Call after Stop.
  std::vector<TocEntry> RemainingEntries() const;
  size_t built_tables() const { return built_tables_; }
  double busy_seconds() const { return busy_seconds_; }

 private:
  void Work(int id);

  const SchemaCopier& copier_;
  const PostDataPlan& plan_;
  const bool enabled_;                 // some table has early entries and jobs > 0
  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<pg::TableName> ready_;   // guarded by mu_: copied, entries not yet taken
  bool stopping_ = false;              // guarded by mu_
  std::exception_ptr error_;           // guarded by mu_: the first failed batch
  std::set<std::string> built_;        // guarded by mu_: TocEntry::line of every entry created
  size_t built_tables_ = 0;            // guarded by mu_
  double busy_seconds_ = 0;            // guarded by mu_: summed over the threads
  int batches_ = 0;                    // guarded by mu_: names each batch's list file
  std::vector<std::jthread> threads_;  // last: joined first on destruction
};

}  // namespace walferry::load
