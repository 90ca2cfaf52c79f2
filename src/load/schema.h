// load/schema.h
//
// Creates the selected tables' schema on the target with PostgreSQL's own pg_dump / pg_restore / psql (run without
// a shell, from the PostgreSQL 15 bin directory or PATH), in three steps:
//   1. CopySupportObjects: the non-table objects tables need (schemas, types, domains, functions, extensions,
//      standalone sequences, ...) from the source's pre-data section. One object at a time when the batch fails:
//      an object that already exists on the target (SQLSTATE 42710/42P06/42723/42P07) is kept as it is and logged;
//      any other error stops the load.
//   2. CopyTables: the tables' pre-data (CREATE TABLE, owned sequences, identity, defaults, ATTACH PARTITION), before
//      any data, in groups created at once, each in one target transaction (load/table_groups.h).
//   3. Post-data: indexes, primary/unique/foreign keys, triggers, rules, with pg_restore --exit-on-error.
//      PreparePostData dumps it before the copies and says which entries need only their own table (built when its
//      copy commits: load/early_post_data.h); RestorePostData restores a part of it. Resuming, the objects an
//      interrupted run created are found in the target's catalog and left out (load/restore_list.h); one the target
//      holds under the same name with another definition stops the load.
// Errors are recognized by SQLSTATE or catalog, never by message text (which follows the server's lc_messages).
// Ownership and privileges are not carried (--no-owner --no-privileges): target roles differ from the source's.
// It never reads or writes table data. Not thread-safe (one instance per load), except where a method says.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "load/restore_list.h"
#include "pg/conninfo.h"
#include "pg/quote.h"

namespace walferry::load {

// A private temporary directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The post-data of a load's tables: one dump, its entries still to create, and those of them each table's copy
// commit lets be created at once.
struct PostDataPlan {
  std::filesystem::path dump;     // pg_dump -Fc --section=post-data of the tables, in the copier's TempDir
  std::vector<TocEntry> entries;  // to create (resuming: what the target does not have yet), listing order
  std::map<pg::TableName, std::vector<TocEntry>> early;  // a subset of entries, by the one table they need
};

class SchemaCopier {
 public:
  // Conninfos are passed to the tools as given and appear in messages only redacted. Connects to the source once,
  // for its major version: the client programs are chosen for it (load/client_tools.h).
  SchemaCopier(std::string source_conninfo, std::string target_conninfo, std::string control_schema);

  // owned_sequence_oids: pg_class oids (on the source) of sequences owned by a table column (serial, identity);
  // they come with their tables in CopyTables instead.
  void CopySupportObjects(const std::vector<uint32_t>& owned_sequence_oids);
  // tables: every relation to create, partitions included (pg_dump -t takes no children by itself). In at most
  // `jobs` groups at once (load/table_groups.h), each by its own pg_dump, in target transactions of as many tables
  // as the target's lock table allows (TablesPerTransaction: 600 on default settings with 2 groups at once): a
  // failure can leave some tables created (Error(kSql) says so; --resume finishes them). Returns the number of
  // groups.
  size_t CopyTables(const std::vector<pg::TableName>& tables, int jobs);
  // After the data. resuming: objects an interrupted run created (same name, same definition as on the source) are
  // kept; throws Error(kPrecondition) listing the objects whose name the target uses with another definition, and
  // Error(kIo) with pg_restore's output when it fails.
  void CopyPostData(const std::vector<pg::TableName>& tables, int jobs, bool resuming);
  // The dump and listing of CopyPostData, without restoring anything (same errors): DumpPostData, then, resuming,
  // LeaveOutWhatTargetHas. Dumping before the copies is the same as after: walferry does not follow DDL during a
  // load (docs/load.md).
  PostDataPlan PreparePostData(const std::vector<pg::TableName>& tables, bool resuming);
  // Reads the source only (pg_dump, its catalog): may run in another thread while CopyTables runs.
  PostDataPlan DumpPostData(const std::vector<pg::TableName>& tables) const;
  // Resuming: leaves out of plan.entries (and plan.early) the objects the target has with the source's definition;
  // Error(kPrecondition) for one it has under the same name with another definition. Call once the target's
  // tables are as the copy will find them (after CreateTables and any --target-prep drop).
  void LeaveOutWhatTargetHas(const std::vector<pg::TableName>& tables, PostDataPlan& plan) const;
  // Restores `entries` (of plan.entries) with pg_restore -j jobs; Error(kIo) with pg_restore's output when it fails.
  // `tag` names its list file: calls with different tags may run at once from several threads.
  void RestorePostData(const PostDataPlan& plan, const std::vector<TocEntry>& entries, int jobs,
                       const std::string& tag) const;

 private:
  // The client program `name` (pg_dump, pg_restore, psql) that fits the source.
  std::string Program(const std::string& name) const;
  std::vector<std::string> DumpArgs(const std::string& section) const;
  // Runs psql on the target with `script` (written to `file_name` in the temporary directory: a name per thread);
  // returns psql's exit code and output.
  std::pair<int, std::string> Psql(const std::string& script, bool single_transaction,
                                   const std::string& file_name = "script.sql") const;
  // Pairs of `tables` whose definitions need each other (src/sql/load/table_links.sql), from the source.
  std::vector<std::pair<pg::TableName, pg::TableName>> TableLinks(const std::vector<pg::TableName>& tables) const;
  // One group of CopyTables: pg_dump of its tables' pre-data, then psql, one transaction per `per_transaction`
  // tables (load/table_groups.h: TablesPerTransaction), in the dump's order. Files named by `group`.
  void CreateGroup(const std::vector<pg::TableName>& tables, size_t group, size_t per_transaction) const;
  // Resuming: the entries of a post-data table of contents whose objects the target does not have yet, from both
  // catalogs (src/sql/load/post_data_objects.sql).
  std::vector<TocEntry> NotOnTarget(const std::vector<pg::TableName>& tables, std::vector<TocEntry> toc) const;
  // The entries of `entries` that need only their own table, by table (src/sql/load/post_data_early.sql).
  std::map<pg::TableName, std::vector<TocEntry>> EarlyByTable(const std::vector<pg::TableName>& tables,
                                                              const std::vector<TocEntry>& entries) const;

  // For walferry's own catalog queries.
  std::string source_conninfo_;
  std::string target_conninfo_;
  // Conninfos for pg_dump / pg_restore / psql: password moved to PGPASSWORD, never on a command line.
  pg::ChildConnection source_;
  pg::ChildConnection target_;
  std::string control_schema_;
  int source_major_ = 0;
  TempDir tmp_;
};

}  // namespace walferry::load
