// cdc/worker.h
//
// One set's CDC worker: the I/O shell around cdc::ExactlyOnce (cdc/exactly_once.h), which decides everything about
// positions. The worker reads the set's slot (START_REPLICATION ... LOGICAL, the source's pgoutput protocol,
// publication walferry_<set>; from protocol 2 streamed in-progress transactions are spilled per xid by StreamSpill
// and applied at their Stream Commit), decodes each message, streams the changes into an Applier, commits groups of source
// transactions when the core says so, probes the target's WAL so the slot is told only what the target has
// durably flushed, answers keepalives, keeps the control status row current, reconnects after a failure (every
// target and source connection; for cdc.retry_for), and stops on request (finishing the open transaction first)
// or at a stop position (also one that walferry cutover records while the worker runs). Resume rules and the durability rule: docs/design/resume.md.
//
// Ownership: owns its connections (a replication connection to the source, an apply and a status connection to
// the target, a second apply connection under cdc.apply_connections: 2), all reopened after a failure. Thread safety: Run() on one thread; `stop` may be set from any
// thread or a signal handler.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cdc/applier.h"
#include "cdc/exactly_once.h"
#include "cdc/pgoutput_decoder.h"
#include "control/truncate_capture.h"
#include "cdc/status_writer.h"
#include "cdc/stream_spill.h"
#include "common/lsn.h"
#include "config/config.h"
#include "pg/replication_stream.h"
#include "pg/server_version.h"

namespace walferry::cdc {

struct WorkerOptions {
  std::string set_name;
  std::string source;  // conninfo
  std::string target;
  std::string control_schema = "walferry";
  std::string migration_id;  // walferry.yaml migration_id: names the slot and publication (control::SlotName)
  // The set's tables (walferry.yaml): its publication must hold no other (control::CheckPublicationHoldsOnly,
  // at each start). Empty: not checked.
  std::vector<pg::TableName> tables;
  bool dms_compatible_views = false;
  config::CdcSettings cdc;
  std::optional<Lsn> start_lsn;  // --start-lsn: transactions that committed before it are skipped
  std::optional<Lsn> until_lsn;  // stop before the first transaction committing at or after it
  bool until_caught_up = false;  // until_lsn = the source's position when Run() starts (cdc/stop_position.h)
  std::chrono::milliseconds status_interval{1000};
  // retention.apply_exceptions: the set's exceptions older than this are deleted at each session start and hourly
  // (control/retention.h); 0 keeps them all.
  std::chrono::seconds apply_exceptions_retention{config::RetentionSettings::kDefaultSeconds};
  // The tables of the configuration's other sets (ApplierOptions::other_sets_tables).
  std::set<pg::TableName> other_sets_tables;
  // The set's tables in `apply: batch` (ApplierOptions::batch_tables). When not empty, a group is a batch: it
  // closes at cdc.batch_max_rows / batch_max_size / batch_max_ms instead of the transactional group bounds.
  std::set<pg::TableName> batch_tables;
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
  // retries, and any unexpected exception, are returned as a FAILED outcome (and written to the status table).
  WorkerOutcome Run();

 private:
  enum class SessionEnd { kStopRequested, kReachedStop };

  // Reads the set's start position (retrying connection failures like a session) and builds the core.
  void Prepare();
  void PrepareOnce();
  SessionEnd RunSession();
  // After a failure: what the core decided, carried out. Returns an outcome when the worker ends.
  std::optional<WorkerOutcome> Recover(const Error& e);
  WorkerOutcome Failed(const std::string& reason, const std::optional<FailedChange>& failed);
  void OnPayload(std::string_view payload);
  // A decoded message outside a stream block, or one replayed from a spill file: `decoder` holds its relations.
  void Dispatch(const Message& m, const Decoder& decoder);
  // An Insert, Update, Delete or Truncate applied through `applier` (the apply connection's, or the early apply's);
  // walferry's own table of partition TRUNCATE announcements is read, never applied.
  void ApplyChange(Applier& applier, const Message& m, const Decoder& decoder);
  // Streaming of in-progress transactions (protocol >= 2; docs/cdc.md "Streaming of large transactions";
  // worker_stream.cc). Stream Start: the transaction's spill file opened; under cdc.streaming: on, its early apply
  // started when none runs (the open group committed first, also before each later block of it).
  void OnStreamStart(const StreamStart& s);
  // A message between Stream Start and Stream Stop: kept in the transaction's spill file, and applied early when
  // its transaction is.
  void SpillStreamed(const Message& m, std::string_view payload);
  // A message of the early transaction (subxid: its (sub)transaction) applied through early_; gives up on failure.
  void ApplyEarly(const Message& m, Xid subxid);
  // The early apply gives up: its connection closed (the early transaction rolled back), the reason logged; the
  // transaction is applied from its spill file at its commit.
  void StopEarly(const std::string& reason);
  // A failure of the early apply: StopEarly(reason), unless its connection was lost and the target does not answer
  // the status connection either (it restarted, the network broke): then the early apply ends quietly and `e`, with
  // context, is thrown to end the session like a lost apply connection (the next session is sent the transaction
  // again and applies it early again).
  void EndSessionOrStopEarly(Error& e, const std::string& reason);
  // The early apply ends quietly (session end, abort, skip, after its commit): its connection closed.
  void DropEarly();
  // early_'s ApplierOptions::while_waiting: keeps the walsender answered; throws after kEarlyWaitLimit.
  void WhileEarlyWaits(std::chrono::milliseconds waited);
  // From WhileTargetWorks: when the apply connection has waited a while, asks the target whether it waits for the
  // early transaction's locks (src/sql/cdc/blocked_by.sql); if so the early apply gives up, so the apply goes on.
  void CheckEarlyConflict(std::chrono::milliseconds waited);
  // Stream Commit: the early transaction committed with the checkpoint (CommitEarly), or else the spilled
  // transaction applied through the ordinary per-change path (never netted: it is a batch boundary, the open group
  // is committed first) and joined to a group with its checkpoint like any other.
  void OnStreamCommit(const StreamCommit& c);
  // Commits the early transaction with the checkpoint. False when the target refused it (nothing committed: the
  // spill file is replayed); throws when the COMMIT's outcome is unknown (the next session reads the checkpoint).
  bool CommitEarly(const StreamCommit& c);
  void OnStreamAbort(const StreamAbort& a);
  // The pgoutput protocol to ask for: the source's (pg::FeaturesOf), 1 under cdc.streaming: off, or
  // WALFERRY_PGOUTPUT_PROTOCOL when set lower.
  int ProtocolFor(const pg::ServerFeatures& features) const;
  void OnBegin(const Begin& b);
  void OnLogicalMessage(const LogicalMessage& m);
  // 13: an INSERT into walferry's table of partition TRUNCATE announcements (control/truncate_capture.h).
  void OnTruncateRow(Applier& applier, const Relation& rel, const Insert& row);
  // A partition truncated on the source, by message or by row: applied through `applier` when this set owns it.
  void OnTruncatedPartition(Applier& applier, const control::TruncatedPartition& p);
  // Installs walferry's partition TRUNCATE trigger where the set's partitions lack it (control/truncate_capture.h).
  void CaptureTruncates(pg::Connection& source);
  // A cutover in progress (src/sql/cdc/cutover_final_lsn.sql): its final position, read through `target`.
  std::optional<Lsn> CutoverFinalLsn(pg::Connection& target);
  // With every status write: a cutover's final position becomes the stop position (the worker ends there, CAUGHT
  // UP, and `walferry cdc`/`migrate` go on as after --until-lsn).
  void FollowCutover();
  void OnCommit(const Commit& c);
  // A batch failed set-based: logged, counted, and its transactions replayed per change in a new session.
  void OnBatchFallback(const BatchFallback& f);
  // The plain source connection for heartbeats and slot checks (opened on first use, reset with the session).
  pg::Connection& SourceConnection();
  // Logs control::SlotWarnings for the set's slot (WAL retained over cdc.wal_warn, max_slot_wal_keep_size).
  void CheckSlot();
  // retention.apply_exceptions: one batch of the set's expired exceptions deleted through the status connection
  // (autocommit, never the apply transaction); a full batch leaves a backlog for the next Periodic(). A failure is
  // logged, not fatal: CDC does not stop for housekeeping.
  void ExpireExceptions();
  // Commits the applier's open group on the target (after the group in flight, if any); the core then counts its
  // end as handled (not yet confirmed).
  void CommitGroup();
  // Two apply connections (cdc.apply_connections: 2, docs/cdc.md "Two apply connections"): the group in flight on
  // spare_ is finished (FinishSpare), the open group's last statements are sent on applier_ without waiting for
  // them, and the two connections swap: the next group is applied on the other one while the target still applies
  // this one, whose COMMIT is sent when the next group needs it (FinishSpare). Falls back to CommitGroup when
  // Pipelining() says no.
  void PipelineGroup();
  // Whether the next group may be committed pipelined: two connections asked for, batch tables, cdc.error_policy
  // stop, the session as replica (no FK checks), no isolation replay, no early apply, no recent cross wait.
  bool Pipelining() const;
  // Waits for the group in flight on spare_ and commits it (Applier::FinishGroup); its end becomes handled.
  void FinishSpare();
  // The apply session's options (both apply connections alike).
  ApplierOptions MakeApplierOptions();
  // Adds an applier's batch counters committed between `before` and `after` to the totals.
  void AddBatchCounters(const BatchCounters& before, const BatchCounters& after);
  // After a target transaction committed source transactions (a group, or an early transaction): the counters.
  void Committed(const Commit& last, uint64_t rows, uint64_t txns);
  void Periodic();
  // Probes the target's WAL and sends the slot a standby status update with the confirmed position.
  void Feedback(bool ask_reply);
  // Tells the slot core_->confirmed(), after recording it in the control schema (SendRecord).
  void SendFeedback(bool ask_reply);
  // Records core_->ToRecord() through the status connection (walferry.slot_confirmed), when there is one.
  void SendRecord();
  // At a session start, once this process holds the slot: fails the set (Error kPrecondition, with the fix) when
  // the slot's confirmed position is past everything walferry applied or told it (ExactlyOnce::OnSlotPosition);
  // otherwise feedback continues from the slot's position.
  void CheckSlotPosition();
  // Answers a keepalive that asks for a reply, with everything the target has durably applied (see the .cc).
  void AnswerPing();
  // Counts the time spent waiting on the replication stream with nothing arriving; asks the walsender for a
  // keepalive, then throws Error(kConnection) when even that does not come (a half-open connection).
  void CheckSilence(bool received, std::chrono::steady_clock::duration waited);
  // The slot is busy: ends the walsender holding it if its client stopped answering (src/sql/cdc/end_stale_reader.sql),
  // never a live reader (another walferry on the same set is left alone; this one retries).
  void EndStaleReader();
  // Once this process reads the slot: ends other apply sessions of the set (src/sql/cdc/end_stale_appliers.sql)
  // and waits until they are gone. A dead connection's session would otherwise hold row locks until lock_timeout,
  // or commit an old group late, over newer rows (the fence: docs/design/resume.md).
  void EndStaleAppliers();
  // Before a session ends on purpose: waits (bounded) until the target has flushed what was applied, so the slot
  // is told everything applied.
  void ConfirmAllApplied();
  // cdc.heartbeat_seconds: while idle, emits a logical message on the source and asks for a reply, so the
  // keepalive that follows carries a WAL end past it and the slot advances (docs/cdc.md "Heartbeat").
  void Heartbeat();
  // cdc/failure_class.h: kTransient.
  bool Retriable(const Error& e) const;
  // A connection the server refused for good (FailureClass::kPermanentConnection) as the error that ends the
  // worker: ErrorKind::kConfig (exit 2) with the fix.
  Error RefusedConnection(const Error& e) const;
  // Called by the Applier while it waits for the target (ApplierOptions::while_waiting): keeps the walsender
  // answered, and after kApplyCheckAfter of waiting asks a fresh connection whether the apply backend is still
  // executing; throws Error(kConnection) when it is not (the apply connection is half-open).
  void WhileTargetWorks(std::chrono::milliseconds waited);
  // Two apply connections: after kCrossWaitCheckAfter of waiting (and every such interval), asks the target whether
  // the waiting connection waits for the other one's locks: the later group for the one in flight (then that one is
  // committed now), or the one in flight for the later group (then the session ends: both roll back, one
  // connection is used for a while).
  void CheckCrossWait(std::chrono::milliseconds waited);
  // suspend-table: records that failed.table is suspended from its transaction on (in its own committed
  // transaction, before the replay that skips it). False when the table was already suspended: then the set fails.
  bool Suspend(const FailedChange& failed, const std::string& reason);
  std::set<std::pair<std::string, std::string>> LoadSuspended(pg::Connection& target) const;
  void WriteStatus(const std::string& state, const std::string& error = "");
  void Sleep(std::chrono::milliseconds wait);

  WorkerOptions options_;
  ErrorPolicy policy_;
  const std::atomic<bool>& stop_;
  std::optional<ExactlyOnce> core_;  // every LSN decision (built by Prepare)
  bool commit_rejected_ = false;     // the session ended because the target refused a group's COMMIT
  // Batch apply: transactions committing at or before this LSN are replayed per change (a batch holding them
  // failed set-based, cdc::BatchFallback). Only grows.
  Lsn per_change_through_;
  Lsn last_begin_final_;  // commit LSN of the last source transaction begun for apply
  // Batch tables whose last batch failed set-based: applied per change until then (ApplierOptions).
  std::map<pg::TableName, std::chrono::steady_clock::time_point> batch_paused_until_;

  // Session objects (reset on every reconnect).
  std::optional<pg::ReplicationConnection> repl_;
  std::optional<Applier> applier_;
  // cdc.apply_connections: 2: the other apply connection (opened at the session's first pipelined group); it
  // holds the group in flight while spare_in_flight_. waiting_on_spare_: FinishSpare is reading its results.
  std::optional<Applier> spare_;
  bool spare_in_flight_ = false;
  bool waiting_on_spare_ = false;
  bool failed_in_flight_ = false;  // this session's failure came from finishing spare_'s group
  struct FlightCounts {
    uint64_t rows = 0, txns = 0, streamed = 0;
  };
  FlightCounts flight_;  // of the group in flight
  Clock::time_point flight_started_{};
  std::chrono::milliseconds next_cross_check_{};  // CheckCrossWait, within one wait
  // An earlier group waited for a lock of a later one (or a lock wait timed out beside one): one connection until.
  std::chrono::steady_clock::time_point pipeline_off_until_{};
  std::optional<Decoder> decoder_;
  std::optional<StatusWriter> status_;
  // Spill files of streamed transactions, one per open top-level xid (emptied at every session start: the walsender
  // sends unfinished transactions again from their start). Created by the first session.
  std::optional<StreamSpill> spill_;
  std::optional<Xid> stream_xid_;  // the transaction of the open stream block (Stream Start .. Stream Stop)
  // Early apply (cdc.streaming: on): the streamed transaction being applied while it runs, on its own target
  // connection (application_name walferry_apply_<set>, so the fence of a later session ends it too). Reset with
  // the session.
  std::optional<Applier> early_;
  Xid early_xid_;           // its xid; 0 when none
  bool early_off_ = false;  // a lock wait timed out beside an early apply: none again in this process
  // No early apply starts before a transaction committing at or after this arrives; invalid: no such hold. Set by a
  // session whose fence found a checkpoint later than the one it asked the stream from (an earlier session's COMMIT
  // took effect late, e.g. an early COMMIT of a killed walferry): the transactions committed before it are sent
  // again and skipped, and any of them may be streamed first; applied early again, it would fail on its own rows on
  // the target. Every first Stream Start of such a transaction precedes the first later commit in the stream.
  Lsn early_held_before_;
  std::set<std::pair<std::string, std::string>> suspended_;  // the session's suspended tables, for early_
  std::string slot_name_;         // control::SlotName of this migration; set by PrepareOnce
  std::string publication_name_;  // control::PublicationName of this migration; set by PrepareOnce
  std::optional<pg::Connection> heartbeat_conn_;  // a plain source connection (SourceConnection), opened lazily
  // The relations the set's publication covers (control::CoveredRelations), read at the session's first partition
  // truncate message: only messages about them are applied.
  std::optional<std::set<pg::TableName>> covered_;
  std::chrono::steady_clock::time_point last_heartbeat_{};
  std::chrono::steady_clock::time_point last_slot_check_{};  // the first check comes with the first Periodic()
  std::chrono::steady_clock::time_point last_expiry_{};      // ExpireExceptions: at each session start, then hourly
  bool expiry_backlog_ = false;                               // the last batch was full: more to delete
  bool want_reply_ = false;

  std::string last_commit_time_;  // ISO time of the last applied commit
  int64_t last_commit_time_us_ = 0;
  Clock::time_point last_group_end_ = Clock::now();  // when the last group committed (debug timing only)
  int64_t last_send_time_ = 0;
  uint64_t rows_total_ = 0;    // committed rows across sessions
  uint64_t txns_total_ = 0;    // committed source transactions across sessions
  uint64_t groups_total_ = 0;  // target transactions that committed them
  uint64_t retries_total_ = 0; // sessions retried after a failure, across sessions
  BatchCounters batch_total_;   // batch apply, committed, across sessions
  uint64_t batch_replays_ = 0;  // batches rolled back and replayed per change
  // Two apply connections, across sessions: groups committed pipelined, and times a group's statement waited for
  // the group in flight (a row, table or lock both need).
  uint64_t groups_pipelined_ = 0;
  uint64_t in_flight_waits_ = 0;
  // Streaming (protocol >= 2), across sessions: streamed transactions committed on the target (counted when their
  // group commits), and streamed transactions the source aborted (their spill file dropped).
  uint64_t streamed_applied_ = 0;
  uint64_t streamed_aborted_ = 0;
  uint64_t streamed_in_group_ = 0;  // streamed transactions in the open group (reset with the session)
  uint64_t streamed_early_ = 0;    // of streamed_applied_: committed by the early apply
  uint64_t early_stopped_ = 0;     // early applies that gave up (then applied from the spill file)
  std::string last_replay_;     // why the last one was
  uint64_t rows_at_last_status_ = 0;
  std::chrono::steady_clock::time_point last_status_{};
  std::chrono::steady_clock::time_point last_feedback_{};
  std::chrono::steady_clock::duration silent_for_{};  // waited on the stream since its last message
  std::chrono::milliseconds next_apply_check_{};       // within one wait for the target: when to check it next
  int apply_idle_seen_ = 0;                            // consecutive checks that found the apply backend idle
};

}  // namespace walferry::cdc
