#include "cdc/exactly_once.h"

#include <algorithm>

#include "common/error.h"

namespace walferry::cdc {

ExactlyOnce::ExactlyOnce(Lsn start, std::optional<Lsn> stop_at, GroupLimits group, RetryLimits retry)
    : start_(start), stop_at_(stop_at), group_limits_(group), retry_limits_(retry), skip_before_(start),
      handled_(start), confirmed_(start) {}

Lsn ExactlyOnce::StartSession(Lsn checkpoint) {
  // Whatever was open is gone: the target rolled it back when its connection closed.
  in_txn_ = skipping_ = reached_stop_ = false;
  group_txns_ = group_rows_ = 0;
  in_flight_.reset();
  // Priced positions of an earlier session may name target WAL that a target crash discarded (and that new WAL
  // reuses): forget them. What is confirmed stays confirmed: it was durable.
  unflushed_.clear();
  priced_ = Lsn{};
  // Only durable knowledge: the checkpoint the target has now (not the one remembered: a crash may have lost
  // commits), the start, and what the slot was told. A transaction below any of them is on the target.
  applied_ = checkpoint;
  skip_before_ = std::max({start_, checkpoint, confirmed_});
  handled_ = skip_before_;
  return skip_before_;
}

std::optional<Lsn> ExactlyOnce::OnSlotPosition(Lsn slot_confirmed, Lsn recorded) {
  recorded_ = std::max(recorded_, recorded);
  // Every position walferry can have told the slot: what it recorded before telling, what this process confirmed,
  // and what is durable on the target anyway (a confirmed group end is flushed, so the checkpoint is at or past
  // it); the slot itself starts at or before the set's start.
  Lsn known = std::max({start_, applied_, recorded_, confirmed_});
  if (slot_confirmed > known) return known;
  confirmed_ = std::max(confirmed_, slot_confirmed);
  skip_before_ = std::max(skip_before_, confirmed_);
  Handle(confirmed_);
  return std::nullopt;
}

std::optional<Lsn> ExactlyOnce::ToRecord() const {
  if (confirmed_ <= recorded_) return std::nullopt;
  return confirmed_;
}

void ExactlyOnce::StopAt(Lsn stop) { stop_at_ = stop_at_ ? std::min(*stop_at_, stop) : stop; }

BeginAction ExactlyOnce::OnBegin(Lsn final_lsn) {
  if (in_txn_) throw Error(ErrorKind::kProtocol, "Begin inside an open transaction");
  if (stop_at_ && final_lsn >= *stop_at_ && final_lsn >= skip_before_) {
    reached_stop_ = true;  // committed at or after the stop position: left for the next run
    return BeginAction::kStop;
  }
  in_txn_ = true;
  skipping_ = final_lsn < skip_before_;
  if (skipping_) return BeginAction::kSkip;
  if (!group_open()) group_first_ = final_lsn;
  group_last_final_ = final_lsn;
  return BeginAction::kApply;
}

bool ExactlyOnce::OnCommit(Lsn end_lsn, uint64_t rows, Clock::time_point now) {
  if (!in_txn_) {
    if (reached_stop_) return false;
    throw Error(ErrorKind::kProtocol, "Commit without Begin");
  }
  in_txn_ = false;
  if (skipping_) {
    skipping_ = false;
    if (!group_open() && !in_flight_) Handle(end_lsn);  // already on the target, nothing uncommitted before it
    return false;
  }
  if (!group_open()) group_started_ = now;
  ++group_txns_;
  group_rows_ += rows;
  group_last_ = end_lsn;
  return true;
}

void ExactlyOnce::OnWalEnd(Lsn wal_end, bool keepalive) {
  received_ = std::max(received_, wal_end);
  // Between transactions everything before a keepalive's WAL end was sent and handled: nothing there to apply.
  if (keepalive && idle()) Handle(wal_end);
}

bool ExactlyOnce::GroupDue(Clock::time_point now, bool stop_requested) const {
  if (!group_open() || in_txn_) return false;
  return stop_requested || reached_stop_ || (isolate_through_ && applied_ <= *isolate_through_) ||
         group_txns_ >= group_limits_.max_transactions || group_rows_ >= group_limits_.max_rows ||
         now - group_started_ >= group_limits_.max_age;
}

void ExactlyOnce::OnGroupCommitted() {
  if (!group_open() || in_txn_ || in_flight_) {
    throw Error(ErrorKind::kInternal, "a group committed that was not complete");
  }
  applied_ = group_last_;
  Handle(group_last_);
  group_txns_ = group_rows_ = 0;
  failures_ = 0;
}

void ExactlyOnce::OnGroupSent() {
  if (!group_open() || in_txn_ || in_flight_) throw Error(ErrorKind::kInternal, "a group sent that was not complete");
  in_flight_ = InFlight{group_first_, group_last_final_, group_last_, group_txns_, group_rows_};
  group_txns_ = group_rows_ = 0;
}

void ExactlyOnce::OnSentCommitted() {
  if (!in_flight_) throw Error(ErrorKind::kInternal, "no group in flight committed");
  applied_ = in_flight_->last;
  Handle(in_flight_->last);
  in_flight_.reset();
  failures_ = 0;
}

void ExactlyOnce::InFlightFailed() {
  if (!in_flight_) return;
  group_first_ = in_flight_->first;
  group_last_final_ = in_flight_->last_final;
  group_last_ = in_flight_->last;
  group_txns_ = in_flight_->txns;
  group_rows_ = in_flight_->rows;
  in_txn_ = skipping_ = false;
  in_flight_.reset();
}

bool ExactlyOnce::InFlightDue(bool stop_requested) const {
  return in_flight_ && (stop_requested || reached_stop_ || isolating());
}

void ExactlyOnce::Handle(Lsn position) { handled_ = std::max(handled_, position); }

void ExactlyOnce::OnTargetWal(Lsn target_insert, Lsn target_flush) {
  if (handled_ > priced_) {
    if (!unflushed_.empty() && unflushed_.back().target_needed >= target_insert) {
      unflushed_.back().source = handled_;  // the same target WAL covers both
    } else {
      unflushed_.push_back({handled_, target_insert});
    }
    priced_ = handled_;
  }
  while (!unflushed_.empty() && unflushed_.front().target_needed <= target_flush) {
    confirmed_ = std::max(confirmed_, unflushed_.front().source);
    unflushed_.pop_front();
  }
}

ExactlyOnce::SessionState ExactlyOnce::State(bool stop_requested) const {
  if (idle() && stop_requested) return SessionState::kStopRequested;
  if ((reached_stop_ && !group_open() && !in_flight_) || (idle() && stop_at_ && handled_ >= *stop_at_)) {
    return SessionState::kReachedStop;
  }
  return SessionState::kRunning;
}

FailureAction ExactlyOnce::OnFailure(const Failure& f, Clock::time_point now) {
  if (f.rejected_txn) {
    // The rejected change shared its target transaction with earlier source transactions: replay them one target
    // transaction each, so they commit and the failure is reported at exactly its own transaction. Decided from
    // the group as it was when the change failed (StartSession has not run yet).
    bool target_txn_open = group_open() || applying();
    if (target_txn_open && group_first_ < *f.rejected_txn && isolate_through_ != f.rejected_txn &&
        !f.stop_requested) {
      isolate_through_ = f.rejected_txn;
      return FailureAction::kIsolate;
    }
    return f.suspend_policy && !f.stop_requested ? FailureAction::kSuspend : FailureAction::kFail;
  }
  if (f.rejected_at_commit) {
    // Every transaction of the group commits alone on the replay; the one that fails then is the culprit.
    if (group_txns_ > 1 && isolate_through_ != group_last_final_ && !f.stop_requested) {
      isolate_through_ = group_last_final_;
      return FailureAction::kIsolate;
    }
    return FailureAction::kFail;
  }
  if (!f.retriable || f.stop_requested) return FailureAction::kFail;
  if (failures_ == 0) failing_since_ = now;
  ++failures_;
  bool in_time = now - failing_since_ < retry_limits_.retry_for;
  bool in_count = retry_limits_.max_retries == 0 || failures_ <= retry_limits_.max_retries;
  return in_time && in_count ? FailureAction::kRetry : FailureAction::kFail;
}

std::chrono::milliseconds ExactlyOnce::Backoff(int attempt) {
  return std::chrono::milliseconds(std::min<int64_t>(10000, 500LL << std::clamp(attempt - 1, 0, 10)));
}

}  // namespace walferry::cdc
