// cdc/worker.h
//
// One set's CDC worker: reads the set's slot (START_REPLICATION ... LOGICAL, pgoutput protocol 1, publication
// walferry_<set>), decodes each message and streams it into an Applier, commits groups of source transactions
// (whatever arrived back to back, within bounds), answers keepalives, reports to the slot only what the target
// has durably committed, keeps the control status row current, reconnects with exponential
// backoff, and stops on request (finishing the open transaction first) or at a stop position.
// Resume rules and the LSN state: docs/design/resume.md.
//
// Ownership: owns its connections (a replication connection to the source, an apply and a status connection to
// the target), all reopened after a failure. Thread safety: Run() on one thread; `stop` may be set from any
// thread or a signal handler.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

#include "cdc/applier.h"
#include "cdc/pgoutput_decoder.h"
#include "cdc/status_writer.h"
#include "common/lsn.h"
#include "config/config.h"
#include "pg/replication_stream.h"

namespace walferry::cdc {

struct WorkerOptions {
  std::string set_name;
  std::string source;  // conninfo
  std::string target;
  std::string control_schema = "walferry";
  bool dms_compatible_views = false;
  config::CdcSettings cdc;
  std::optional<Lsn> start_lsn;  // --start-lsn: transactions that committed before it are skipped
  std::optional<Lsn> until_lsn;  // stop before the first transaction committing at or after it
  bool until_caught_up = false;  // until_lsn = the source's pg_current_wal_lsn() when Run() starts
  std::chrono::milliseconds status_interval{1000};
};

struct WorkerOutcome {
  std::string state;  // STOPPED | CAUGHT UP | FAILED
  Lsn applied_lsn;    // the checkpoint when the worker ended
  uint64_t rows_applied = 0;
  std::string error;  // for FAILED
  bool ok() const { return state != "FAILED"; }
};

class Worker {
 public:
  Worker(WorkerOptions options, const std::atomic<bool>& stop);

  // Throws Error(kPrecondition/kConfig) when the set cannot start (no start position); runtime failures after
  // retries are returned as a FAILED outcome (and written to the status table).
  WorkerOutcome Run();

 private:
  enum class SessionEnd { kStopRequested, kReachedStop };

  void Prepare();
  SessionEnd RunSession();
  void OnPayload(std::string_view payload);
  void OnBegin(const Begin& b);
  void OnCommit(const Commit& c);
  // Whether the open group must be committed now, before reading on: a stop, an isolated replay after a rejected
  // change, or a group bound reached. False while a source transaction is in progress (groups never split one).
  bool GroupDue() const;
  // Commits the applier's open group on the target; then, and only then, the slot may confirm its end.
  void CommitGroup();
  void Periodic(bool force_status);
  void SendFeedback(bool ask_reply);
  // cdc.heartbeat_seconds: while idle, emits a logical message on the source and asks for a reply, so the
  // keepalive that follows carries a WAL end past it and the slot advances (docs/cdc.md "Heartbeat").
  void Heartbeat();
  bool Retriable(const Error& e) const;
  // suspend-table: records that failed.table is suspended from its transaction on (in its own committed
  // transaction, before the replay that skips it). False when the table was already suspended: then the set fails.
  bool Suspend(const FailedChange& failed, const std::string& reason);
  std::set<std::pair<std::string, std::string>> LoadSuspended(pg::Connection& target) const;
  void WriteStatus(const std::string& state, const std::string& error = "");
  void Backoff(int attempt);
  // No source transaction in progress and nothing applied but uncommitted on the target.
  bool idle() const { return !in_txn_ && !(applier_ && applier_->group_open()); }

  WorkerOptions options_;
  ErrorPolicy policy_;
  const std::atomic<bool>& stop_;

  // Session objects (reset on every reconnect).
  std::optional<pg::ReplicationConnection> repl_;
  std::optional<Applier> applier_;
  std::optional<Decoder> decoder_;
  std::optional<StatusWriter> status_;
  std::optional<pg::Connection> heartbeat_conn_;  // a plain source connection, opened on the first heartbeat
  std::chrono::steady_clock::time_point last_heartbeat_{};
  bool want_reply_ = false;

  // LSN state. Invariants: confirmed_lsn_ <= what the target has committed or what needs no apply;
  // applied_lsn_ is the checkpoint row's value; skip_before_ = max(checkpoint, start position).
  Lsn applied_lsn_;    // end LSN of the last source transaction committed on the target (the checkpoint)
  Lsn skip_before_;    // transactions whose commit LSN is below this are already on the target
  Lsn confirmed_lsn_;  // flush position sent to the slot: applied_lsn_, or a keepalive's end while idle
  Lsn received_lsn_;   // the latest WAL end the source reported
  std::optional<Lsn> stop_at_;
  bool reached_stop_ = false;
  bool in_txn_ = false;
  bool skipping_ = false;  // inside a transaction that is already applied
  std::chrono::steady_clock::time_point group_started_{};  // when the open group's first transaction ended
  // After a change was rejected inside a group: transactions up to this commit LSN are committed one by one.
  std::optional<Lsn> isolate_through_;

  std::string last_commit_time_;  // ISO time of the last applied commit
  int64_t last_commit_time_us_ = 0;
  int64_t last_send_time_ = 0;
  uint64_t rows_total_ = 0;  // committed rows across sessions
  uint64_t txns_total_ = 0;    // committed source transactions across sessions
  uint64_t groups_total_ = 0;  // target transactions that committed them
  uint64_t rows_at_last_status_ = 0;
  std::chrono::steady_clock::time_point last_status_{};
  std::chrono::steady_clock::time_point last_feedback_{};
  bool applied_since_reconnect_ = false;
};

}  // namespace walferry::cdc
