// control/truncate_capture.h
//
// Carrying a TRUNCATE of ONE partition. walferry publishes partitioned tables through their root
// (publish_via_partition_root), and then pgoutput sends nothing for a truncated partition: its rows would stay on
// the target silently. So walferry installs, on the SOURCE, a statement trigger walferry_partition_truncate
// (AFTER TRUNCATE, ENABLE ALWAYS) on every leaf partition of a set's partitioned tables; it emits a transactional
// logical message naming the partition and its root (src/sql/control/truncate_capture_function.sql), which the
// set's CDC receives in the truncating transaction, in order, and applies as TRUNCATE ONLY <partition>.
// A logical message is not filtered by publication: every slot of the database receives every such message, so a
// set's CDC applies only those whose partition or root its own publication covers (CoveredRelations, Covers).
// PostgreSQL 14+ (pgoutput's `messages` option: pg::ServerFeatures::logical_messages). PostgreSQL 13 publishes
// through the root but has no messages in pgoutput: there the trigger inserts the same four names into
// <schema>.partition_truncates (kTruncateTable), which walferry adds to the set's publication; the set's CDC reads
// such an INSERT as the announcement (IsTruncateTable, TruncatedPartitionOf) and never applies it as a row. The
// table only grows by one row per partition TRUNCATE; `walferry cleanup` drops it. 12 publishes no partitioned
// table at all (the load refuses them). A TRUNCATE of the root also fires the partitions' triggers: the target
// then empties those partitions once more, which changes nothing.
// Installed by `walferry load` before the set's slot is created (so nothing after the slot's start is missed) and
// again by each CDC start (for partitions created since). pg_dump copies these triggers with their tables: the
// load leaves them out of the target's post-data (IsCaptureTrigger). `walferry cleanup` drops them.
// Not thread-safe per Connection.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pg/connection.h"
#include "pg/quote.h"

namespace walferry::control {

inline constexpr const char* kTruncateTrigger = "walferry_partition_truncate";
inline constexpr const char* kTruncateMessagePrefix = "walferry_partition_truncate";
inline constexpr const char* kTruncateTable = "partition_truncates";  // in walferry's schema, 13 only

struct TruncateCaptureResult {
  bool supported = true;                     // false: PostgreSQL 12 (publishes no partitioned table); nothing done
  std::vector<pg::TableName> installed;      // leaf partitions that got the trigger now
};

// Installs the function (in `schema` on the source) and the trigger on every leaf partition of the partitioned
// tables of `publication` that lacks it; on 13, also the table kTruncateTable, added to `publication` (so call it
// before the publication's slot exists, or its stream misses what comes before). Idempotent; each trigger in its own short transaction (lock_timeout 5 s,
// retried: CREATE TRIGGER waits for the partition's open writes). Throws Error(kPrecondition) with the fix when the
// role may not create them.
TruncateCaptureResult InstallTruncateCapture(pg::Connection& source, const std::string& schema,
                                             const std::string& publication);

// Drops the trigger from the leaf partitions of the publication's partitioned tables; returns those partitions.
std::vector<pg::TableName> DropTruncateTriggers(pg::Connection& source, const std::string& publication);
// Drops the trigger function with CASCADE (every trigger still calling it) and then walferry's schema on the
// source if nothing else is in it; returns the function's name, nullopt when there was none.
std::optional<std::string> DropTruncateFunction(pg::Connection& source, const std::string& schema);

// A partition truncate announced by the trigger.
struct TruncatedPartition {
  pg::TableName partition;
  pg::TableName root;
};

// Every relation `publication` covers on the source: the tables it lists and every partition under a partitioned
// one, at any level (src/sql/control/truncate_capture_relations.sql).
std::set<pg::TableName> CoveredRelations(pg::Connection& source, const std::string& publication);

// Whether a set whose publication covers `covered` owns the truncated partition: its root (as it was when the
// partition was truncated: the message names it) or the partition itself is covered. Pure.
bool Covers(const std::set<pg::TableName>& covered, const TruncatedPartition& p);

// Reads a message's content (four zero-terminated UTF-8 names); nullopt when it is not in that form.
std::optional<TruncatedPartition> ParseTruncateMessage(std::string_view content);

// 13: whether a relation of the stream is walferry's kTruncateTable in `schema` (walferry's schema on the source).
bool IsTruncateTable(const pg::TableName& relation, const std::string& schema);
// 13: the announcement an INSERT into kTruncateTable carries: its columns partition_schema, partition_name,
// root_schema, root_name by name (`values[i]` is column `columns[i]`, nullopt for NULL); nullopt when a name is
// missing or NULL.
std::optional<TruncatedPartition> TruncatedPartitionOf(const std::vector<std::string>& columns,
                                                       const std::vector<std::optional<std::string>>& values);

}  // namespace walferry::control
