// cdc/status_writer.h
//
// Writes a set's row of the control `status` table and its `apply_exceptions` rows, and probes the target's WAL
// positions for the durability rule (SQL: src/sql/cdc/). Uses its own autocommit target connection, never the
// applier's, so a status write can neither join nor break an apply transaction. Not thread-safe: one StatusWriter
// per worker. Its commits are synchronous (`local`), so a status write also flushes the apply commits before it.
#pragma once

#include <optional>
#include <string>

#include "common/lsn.h"
#include "control/control_schema.h"
#include "pg/connection.h"
#include "pg/quote.h"

namespace walferry::cdc {

struct StatusSnapshot {
  std::string task_status;  // CHANGE PROCESSING | CAUGHT UP | FAILED | STOPPED
  Lsn source_current_position;       // latest WAL position the source reported
  std::string source_current_timestamp;  // ISO; empty = unknown
  Lsn source_tail_position;          // what the slot was told is flushed
  std::string source_timestamp_applied;  // commit time of the last applied transaction; empty = none yet
  Lsn applied_lsn;
  std::optional<double> latency_seconds;
  uint64_t pending_bytes = 0;
  double rows_per_second = 0;
  std::string last_error;
  // The process's counters since it started (walferry serve exports them as Prometheus counters).
  uint64_t changes_applied = 0;
  uint64_t transactions_applied = 0;
  uint64_t groups_applied = 0;
  uint64_t retries = 0;
  // Batch apply (docs/cdc.md "Batch apply"): batches applied set-based, row changes saved by net changes, batches
  // replayed per change and why the last one was (empty: none).
  uint64_t batches = 0;
  uint64_t rows_collapsed = 0;
  uint64_t batch_replays = 0;
  std::string last_batch_replay;
  // Two apply connections (docs/cdc.md): batches committed pipelined, and waits of a batch for the one before it.
  uint64_t batches_pipelined = 0;
  uint64_t pipeline_waits = 0;
  // Streaming of large transactions (docs/cdc.md): streamed transactions committed on the target, of them those
  // applied while they ran on the source, early applies that gave up, and streamed transactions the source aborted.
  uint64_t streamed_applied = 0;
  uint64_t streamed_early = 0;
  uint64_t early_stopped = 0;
  uint64_t streamed_aborted = 0;
};

// Replaces every @SCHEMA@ in sql with the quoted schema (one definition, in control/).
using control::WithSchema;

class StatusWriter {
 public:
  StatusWriter(pg::Connection target, std::string schema, std::string set_name);

  void Write(const StatusSnapshot& s);
  void RecordException(const pg::TableName& table, const std::string& statement, const std::string& error);
  // Creates awsdms_status / awsdms_apply_exceptions (idempotent).
  void CreateDmsViews();

  // The target's WAL positions now (src/sql/cdc/target_wal.sql).
  struct TargetWal {
    Lsn insert;
    Lsn flush;
  };
  TargetWal ReadTargetWal();

  // The position walferry recorded as told to the set's slot (src/sql/cdc/slot_confirmed_get.sql); invalid when
  // nothing is recorded.
  Lsn ReadRecordedConfirmed();
  // Records, committed and flushed before it returns, that the slot is about to be told `confirmed`
  // (src/sql/cdc/slot_confirmed_record.sql). Never moves the recorded position back.
  void RecordConfirmed(Lsn confirmed);

  // The autocommit target connection, for the worker's other small control queries.
  pg::Connection& connection() { return conn_; }

 private:
  pg::Connection conn_;
  std::string schema_;
  std::string set_name_;
  std::string update_sql_;
};

}  // namespace walferry::cdc
