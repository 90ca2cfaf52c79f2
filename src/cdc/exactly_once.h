// cdc/exactly_once.h
//
// The exactly-once state machine of one set's CDC, with no I/O: decoded transaction boundaries, keepalives, group
// commits, probes of the target's WAL, failures and the clock go in; decisions come out (apply or skip this
// transaction, commit the open group now, stop, which position the slot may be told, isolate / suspend / retry /
// fail after an error). cdc::Worker is the I/O shell around it (docs/design/resume.md).
//
// Positions (all source WAL positions unless named target_*):
//   skip_before   a transaction whose commit LSN (Begin.final_lsn) is below it is already on the target: skipped.
//                 Recomputed at every session start as max(start, checkpoint read from the target), never carried
//                 over from memory, so a target that lost commits in a crash gets them again.
//   handled       everything before it is on the target (committed) or needs no apply: the end LSN of the last
//                 committed group, of a skipped transaction, or a keepalive's WAL end while idle.
//   recorded      the highest confirmed position written to the control schema (walferry.slot_confirmed) BEFORE
//                 the slot was told it. With the checkpoint and the start it bounds where walferry can have left the
//                 slot; a slot found past all of them was moved by something else (OnSlotPosition).
//   confirmed     the flush position sent to the slot. Invariant: confirmed <= handled, and every target
//                 transaction that made `confirmed` true is FLUSHED in the target's WAL. A target crash can lose
//                 commits that were not flushed (cdc.synchronous_commit = off, the default): the slot must never
//                 have been told past them, or the server would never send them again.
// Durability rule: positions become confirmable in the order they were handled. A target WAL probe (insert, flush)
// taken after some positions were handled prices them: each needs target WAL up to `insert` (the target's insert
// position read after their COMMIT returned is at or past their commit records). Once a probe shows the target's
// flushed position at or past that price, they are confirmed. PostgreSQL's apply worker keeps the same pairs
// (remote end LSN, local commit LSN) and confirms up to the local flush position.
//
// Thread safety: none; one per worker. Pure: no logging, no clock reads (times are passed in).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>

#include "common/lsn.h"

namespace walferry::cdc {

using Clock = std::chrono::steady_clock;

struct GroupLimits {
  // A group is committed when the stream has nothing more buffered, or at one of these bounds.
  uint64_t max_transactions = 100;
  uint64_t max_rows = 20000;
  std::chrono::milliseconds max_age{500};
};

struct RetryLimits {
  std::chrono::seconds retry_for{15 * 60};  // consecutive failures without progress are retried this long
  int max_retries = 0;                      // and at most this many times; 0 = no count limit
};

enum class BeginAction {
  kApply,  // apply the transaction's changes (Applier::Begin)
  kSkip,   // already on the target: ignore its changes and commit
  kStop,   // commits at or after the stop position: leave it for the next run; the session ends
};

enum class FailureAction {
  kIsolate,  // a change was rejected inside a group (or the group's COMMIT was): replay the transactions before it
             // (the group's) one target transaction each, so the failure is charged to exactly its transaction
  kSuspend,  // suspend-table: suspend the rejected change's table, then replay
  kRetry,    // a connection / server-going-away failure: reconnect after Backoff()
  kFail,     // give up: the set is FAILED
};

struct Failure {
  bool retriable = false;             // connection lost, server shutting down, serialization/deadlock, timeouts
  std::optional<Lsn> rejected_txn;    // commit LSN of the transaction whose change the target rejected
  // The target refused the group's COMMIT itself (a deferred constraint): which source transaction caused it is
  // unknown while the group holds several.
  bool rejected_at_commit = false;
  bool suspend_policy = false;        // cdc.error_policy is suspend-table
  bool stop_requested = false;
};

class ExactlyOnce {
 public:
  // start: the set's CDC start (sets.start_lsn, --start-lsn): everything before it was loaded (and is durable).
  // stop_at: --until-lsn / --until-caught-up.
  ExactlyOnce(Lsn start, std::optional<Lsn> stop_at, GroupLimits group = {}, RetryLimits retry = {});

  // A new session (after start or any failure): nothing is open any more (the target rolled back whatever was not
  // committed). checkpoint: read from the target now (maybe committed but not yet flushed: it is priced by the
  // next probe like any other position). Returns the position for START_REPLICATION.
  Lsn StartSession(Lsn checkpoint);

  // Once the session holds the slot (after START_REPLICATION: nobody else can move it then), with the slot's
  // confirmed_flush_lsn and the position recorded in the control schema (walferry.slot_confirmed). When the slot is
  // past every position walferry can have left it at (start, checkpoint, recorded, confirmed by this process),
  // something else moved it and the source will never send the transactions in between: returns that highest
  // known position (the start of the gap), and the set must fail. Otherwise the slot's position counts as
  // confirmed, so feedback never reports less than the slot has (a new process would otherwise report its start
  // until its first probe), and transactions before it are skipped.
  std::optional<Lsn> OnSlotPosition(Lsn slot_confirmed, Lsn recorded);
  // The position to record durably in the control schema before the slot may be told `confirmed`; nullopt when it
  // is recorded already. The worker records it, calls OnRecorded, and only then sends feedback.
  std::optional<Lsn> ToRecord() const;
  void OnRecorded(Lsn recorded) { recorded_ = std::max(recorded_, recorded); }

  BeginAction OnBegin(Lsn final_lsn);
  // Whether the open transaction's changes are to be applied (false while skipping or outside a transaction).
  bool applying() const { return in_txn_ && !skipping_; }
  // The end of a source transaction. Returns true when the caller must end it in the applier (it joins the open
  // group); false for a skipped one. rows: the changes applied for it.
  bool OnCommit(Lsn end_lsn, uint64_t rows, Clock::time_point now);
  // A WAL end the source reported (XLogData or keepalive). From a keepalive while idle, everything before it was
  // sent and handled: it becomes handled too.
  void OnWalEnd(Lsn wal_end, bool keepalive);

  // Whether the open group must be committed before reading on: stop, isolation replay, or a bound reached.
  // Never while a source transaction is open (a group never splits one).
  bool GroupDue(Clock::time_point now, bool stop_requested) const;
  // Whether the open group may be committed now because the stream has nothing more buffered.
  bool GroupCommittable() const { return group_open() && !in_txn_; }
  // The target COMMIT of the open group returned. Its end becomes handled (and the checkpoint). Not while a group
  // is in flight (its COMMIT comes first).
  void OnGroupCommitted();

  // Pipelined commits (cdc.apply_connections: 2, docs/cdc.md "Two apply connections"): the open group's statements
  // are all sent on one connection and its COMMIT waits until the group before it committed; a new group opens
  // meanwhile on the other connection. At most one group is in flight; commits stay in source order.
  // OnGroupSent: the open group (complete, no transaction open) becomes the one in flight.
  void OnGroupSent();
  // Its COMMIT returned: its end becomes handled (and the checkpoint), as OnGroupCommitted.
  void OnSentCommitted();
  // Finishing the group in flight failed: it becomes the open group again (what was open after it is rolled back
  // with its connection and sent again by the next session), so OnFailure judges that group.
  void InFlightFailed();
  bool in_flight() const { return in_flight_.has_value(); }
  // Whether the group in flight must be committed before reading on: stop, stop position or isolation replay.
  bool InFlightDue(bool stop_requested) const;
  // Whether transactions are being replayed one target transaction each (after a rejected change).
  bool isolating() const { return isolate_through_ && applied_ <= *isolate_through_; }

  // A probe of the target: its current WAL insert and flush positions, read after every COMMIT counted so far.
  void OnTargetWal(Lsn target_insert, Lsn target_flush);
  // Whether something handled is not confirmed yet (a probe would move `confirmed`).
  bool unconfirmed() const { return confirmed_ < handled_; }

  // A stop position learned while running (a cutover's final LSN): the earlier of it and the one given before.
  // Transactions committing at or after it are left for the next run, as with stop_at.
  void StopAt(Lsn stop);

  enum class SessionState { kRunning, kStopRequested, kReachedStop };
  SessionState State(bool stop_requested) const;

  FailureAction OnFailure(const Failure& f, Clock::time_point now);
  // How long to wait before retry number `attempt` (1, 2, ...): 0.5 s doubling, at most 10 s (cheap attempts; a
  // server back from a failover is used within seconds).
  static std::chrono::milliseconds Backoff(int attempt);
  int consecutive_failures() const { return failures_; }

  bool idle() const { return !in_txn_ && !group_open() && !in_flight_; }
  bool in_txn() const { return in_txn_; }
  bool group_open() const { return group_txns_ > 0; }
  uint64_t group_transactions() const { return group_txns_; }
  uint64_t group_rows() const { return group_rows_; }
  Lsn group_first() const { return group_first_; }
  Lsn skip_before() const { return skip_before_; }
  Lsn applied() const { return applied_; }
  Lsn handled() const { return handled_; }
  Lsn confirmed() const { return confirmed_; }
  Lsn recorded() const { return recorded_; }
  Lsn received() const { return received_; }
  std::optional<Lsn> stop_at() const { return stop_at_; }
  bool caught_up() const { return idle() && handled_ >= received_; }

 private:
  struct Priced {
    Lsn source;         // handled position
    Lsn target_needed;  // target WAL that must be flushed before `source` may be confirmed
  };
  void Handle(Lsn position);

  Lsn start_;
  std::optional<Lsn> stop_at_;
  GroupLimits group_limits_;
  RetryLimits retry_limits_;

  Lsn skip_before_;
  Lsn applied_;   // the checkpoint: end of the last committed group (or as read at session start)
  Lsn handled_;
  Lsn confirmed_;
  Lsn recorded_;
  Lsn received_;
  Lsn priced_;    // the highest handled position that a probe has priced
  std::deque<Priced> unflushed_;  // priced, waiting for the target's flush; ascending in both fields

  bool in_txn_ = false;
  bool skipping_ = false;
  bool reached_stop_ = false;
  uint64_t group_txns_ = 0;
  uint64_t group_rows_ = 0;
  Lsn group_first_;  // commit LSN of the open group's first transaction
  Lsn group_last_final_;  // commit LSN of the open group's last transaction
  Lsn group_last_;   // end LSN of the open group's last ended transaction
  Clock::time_point group_started_{};
  std::optional<Lsn> isolate_through_;  // replay: transactions up to this commit LSN commit one by one
  struct InFlight {
    Lsn first, last_final, last;
    uint64_t txns = 0, rows = 0;
  };
  std::optional<InFlight> in_flight_;  // OnGroupSent .. OnSentCommitted

  int failures_ = 0;  // consecutive failures without a committed group in between
  Clock::time_point failing_since_{};
};

}  // namespace walferry::cdc
