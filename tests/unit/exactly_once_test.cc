// The exactly-once core (cdc/exactly_once.h) driven through every crash point, deterministically: a "target" that
// remembers what committed and what is flushed, a crash that discards the unflushed part, and a "slot" that
// resends everything after its confirmed position. Each scenario ends by checking that every source transaction is
// on the target exactly once.
#include "cdc/exactly_once.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "common/error.h"

namespace walferry::cdc {
namespace {

using namespace std::chrono_literals;

Lsn L(uint64_t v) { return Lsn(v); }

// One source transaction: commit LSN (Begin.final_lsn) and end LSN (Commit.end_lsn).
struct Txn {
  Lsn final_lsn;
  Lsn end_lsn;
};

// Transactions 1..n at commit LSN 100*i, ending 100*i+8.
std::vector<Txn> Txns(int n) {
  std::vector<Txn> out;
  for (int i = 1; i <= n; ++i) out.push_back({L(100 * i), L(100 * i + 8)});
  return out;
}

// A simulated target: each group commit appends WAL; a crash keeps only what was flushed.
struct FakeTarget {
  struct Commit {
    uint64_t wal_end;
    std::vector<Lsn> txns;  // source commit LSNs applied by this target transaction
    Lsn checkpoint;
  };
  std::vector<Commit> commits;
  uint64_t insert = 1000;
  uint64_t flush = 1000;

  void CommitGroup(std::vector<Lsn> txns, Lsn checkpoint) {
    insert += 50;
    commits.push_back({insert, std::move(txns), checkpoint});
  }
  void FlushAll() { flush = insert; }
  void Crash() {
    std::erase_if(commits, [&](const Commit& c) { return c.wal_end > flush; });
    insert = flush;  // new WAL starts where the recovered WAL ends and reuses the lost positions
  }
  Lsn Checkpoint() const { return commits.empty() ? Lsn{} : commits.back().checkpoint; }
  std::map<Lsn, int> Applied() const {
    std::map<Lsn, int> out;
    for (const auto& c : commits) {
      for (Lsn t : c.txns) ++out[t];
    }
    return out;
  }
};

// Drives one ExactlyOnce over a source of transactions the way cdc::Worker does.
struct Harness {
  std::vector<Txn> source;
  FakeTarget target;
  Lsn slot;  // the slot's confirmed_flush_lsn: the server resends from here
  // walferry.slot_confirmed: written (synchronously, so no target crash loses it) before the slot is told.
  Lsn recorded;
  ExactlyOnce core;
  std::vector<Lsn> group;  // applied in the open target transaction
  Clock::time_point now{};

  explicit Harness(int n, GroupLimits limits = {}) : source(Txns(n)), core(L(50), std::nullopt, limits) {}

  // Starts a session; returns the index of the first transaction the server sends.
  size_t StartSession() {
    group.clear();
    Lsn start = core.StartSession(target.Checkpoint());
    // The slot was only ever moved by this walferry: never taken for moved, whatever was lost or killed.
    std::optional<Lsn> gap = core.OnSlotPosition(slot, recorded);
    EXPECT_FALSE(gap) << "slot " << slot.ToString() << " taken for moved past " << gap.value_or(Lsn{}).ToString();
    EXPECT_GE(core.confirmed(), slot) << "a new process must not report less than the slot has";
    Lsn from = std::max(slot, start);
    size_t i = 0;
    while (i < source.size() && source[i].final_lsn < from) ++i;  // the server skips them
    return i;
  }
  void Deliver(const Txn& t) {
    BeginAction a = core.OnBegin(t.final_lsn);
    ASSERT_NE(a, BeginAction::kStop);
    if (a == BeginAction::kApply) group.push_back(t.final_lsn);
    core.OnCommit(t.end_lsn, 1, now);
  }
  void CommitGroup() {
    target.CommitGroup(group, LastEnd());
    group.clear();
    core.OnGroupCommitted();
  }
  Lsn LastEnd() const {
    for (const Txn& t : source) {
      if (t.final_lsn == group.back()) return t.end_lsn;
    }
    return Lsn{};
  }
  void Probe() {
    core.OnTargetWal(L(target.insert), L(target.flush));
    Feedback();
  }
  // What Worker::SendFeedback does: record, then tell the slot.
  void Feedback() {
    if (std::optional<Lsn> r = core.ToRecord()) {
      recorded = std::max(recorded, *r);
      core.OnRecorded(*r);
    }
    ASSERT_LE(core.confirmed(), recorded) << "the slot would be told a position not recorded";
    slot = std::max(slot, core.confirmed());
  }
  // Runs a whole session from the slot: commits a group every `per_group` transactions, probes after each
  // commit, and stops after `limit` delivered transactions (a crash point) or at the end.
  void RunSession(size_t per_group, size_t limit = SIZE_MAX) {
    size_t delivered = 0;
    for (size_t i = StartSession(); i < source.size() && delivered < limit; ++i, ++delivered) {
      Deliver(source[i]);
      if (core.group_transactions() >= per_group) {
        CommitGroup();
        Probe();
      }
    }
    if (delivered < limit && core.group_open()) {
      CommitGroup();
      Probe();
    }
  }
  // Two apply connections (Worker::PipelineGroup): the open group is sent and its COMMIT comes when the next group
  // is sent (or at the end); `crash_committed`: a session that ends with a group in flight whose COMMIT the target
  // did (true) or did not (false) receive.
  std::vector<Lsn> flight;
  void SendGroup() {
    FinishFlight();
    flight = std::move(group);
    group.clear();
    core.OnGroupSent();
  }
  bool flush_each = false;  // the target flushes its WAL after every commit (else only when told)
  void FinishFlight() {
    if (!core.in_flight()) return;
    target.CommitGroup(flight, EndOf(flight.back()));
    if (flush_each) target.FlushAll();
    flight.clear();
    core.OnSentCommitted();
    Probe();
  }
  void RunPipelinedSession(size_t per_group, size_t limit = SIZE_MAX, bool crash_committed = false) {
    size_t delivered = 0;
    for (size_t i = StartSession(); i < source.size() && delivered < limit; ++i, ++delivered) {
      Deliver(source[i]);
      if (core.group_transactions() >= per_group) {
        SendGroup();
        Probe();  // a keepalive's probe while the group is in flight
      }
    }
    if (delivered < limit) {
      if (core.group_open()) SendGroup();
      FinishFlight();
    } else if (crash_committed && core.in_flight()) {
      target.CommitGroup(flight, EndOf(flight.back()));  // the COMMIT arrived; its answer did not
    }
    flight.clear();
  }
  Lsn EndOf(Lsn final_lsn) const {
    for (const Txn& t : source) {
      if (t.final_lsn == final_lsn) return t.end_lsn;
    }
    return Lsn{};
  }
  void ExpectExactlyOnce() const {
    std::map<Lsn, int> applied = target.Applied();
    for (const Txn& t : source) EXPECT_EQ(applied.count(t.final_lsn) ? applied.at(t.final_lsn) : 0, 1)
        << "transaction committed at " << t.final_lsn.ToString();
    EXPECT_EQ(applied.size(), source.size());
  }
};

TEST(ExactlyOnce, ConfirmsNothingTheTargetHasNotFlushed) {
  Harness h(10);
  h.RunSession(3);
  // Every group committed, nothing flushed: the slot must still be at the start.
  EXPECT_EQ(h.core.applied(), L(1008));
  EXPECT_EQ(h.core.handled(), L(1008));
  EXPECT_EQ(h.core.confirmed(), L(50));
  EXPECT_TRUE(h.core.unconfirmed());
  h.target.FlushAll();
  h.Probe();
  EXPECT_EQ(h.core.confirmed(), L(1008));
  EXPECT_FALSE(h.core.unconfirmed());
}

TEST(ExactlyOnce, ConfirmsOnlyUpToWhatTheFlushCovers) {
  Harness h(6);
  h.StartSession();
  for (int i = 0; i < 2; ++i) h.Deliver(h.source[i]);
  h.CommitGroup();
  h.Probe();  // priced at the target's insert position after group 1
  uint64_t after_first = h.target.insert;
  for (int i = 2; i < 4; ++i) h.Deliver(h.source[i]);
  h.CommitGroup();
  h.Probe();
  h.target.flush = after_first;  // the WAL writer flushed group 1 only
  h.Probe();
  EXPECT_EQ(h.core.confirmed(), L(208));
  h.target.FlushAll();
  h.Probe();
  EXPECT_EQ(h.core.confirmed(), L(408));
}

TEST(ExactlyOnce, TargetCrashLosingUnflushedCommitsReappliesThem) {
  // The bug this core fixes: the slot was confirmed at COMMIT, a target crash lost the commits, the server never
  // sent them again.
  Harness h(12);
  h.RunSession(2, 6);  // 3 groups committed
  h.target.flush = h.target.commits[0].wal_end;  // only the first is durable
  h.Probe();
  EXPECT_EQ(h.core.confirmed(), L(208));
  h.target.Crash();
  ASSERT_EQ(h.target.commits.size(), 1u);
  h.RunSession(2);  // a new session after the crash
  h.target.FlushAll();
  h.Probe();
  h.ExpectExactlyOnce();
  EXPECT_EQ(h.core.confirmed(), L(1208));
}

TEST(ExactlyOnce, PipelinedGroupsSurviveACrashAtEveryPointWithTheirCommitLostOrDone) {
  for (size_t crash_at = 0; crash_at <= 12; ++crash_at) {
    for (bool committed : {false, true}) {
      for (bool target_crash : {false, true}) {
        Harness h(12);
        h.flush_each = !target_crash;
        h.RunPipelinedSession(2, crash_at, committed);
        if (target_crash) h.target.Crash();  // nothing was flushed: every commit is lost
        h.RunPipelinedSession(3);
        h.target.FlushAll();
        h.Probe();
        SCOPED_TRACE("crash after " + std::to_string(crash_at) + (committed ? ", in-flight COMMIT done" : "") +
                     (target_crash ? ", target crashed" : ""));
        h.ExpectExactlyOnce();
        EXPECT_EQ(h.core.confirmed(), L(1208));
      }
    }
  }
}

TEST(ExactlyOnce, AGroupInFlightIsNotHandledByAKeepaliveNorItsStopReached) {
  ExactlyOnce core(L(50), L(400));
  core.StartSession(Lsn{});
  EXPECT_EQ(core.OnBegin(L(200)), BeginAction::kApply);
  core.OnCommit(L(208), 1, Clock::time_point{});
  core.OnGroupSent();
  EXPECT_TRUE(core.in_flight());
  EXPECT_FALSE(core.idle());
  core.OnWalEnd(L(300), true);  // a keepalive while the group's COMMIT is still to come
  EXPECT_EQ(core.handled(), L(50));
  EXPECT_EQ(core.OnBegin(L(400)), BeginAction::kStop);
  EXPECT_EQ(core.State(false), ExactlyOnce::SessionState::kRunning);  // not before the group in flight commits
  EXPECT_TRUE(core.InFlightDue(false));
  core.OnSentCommitted();
  EXPECT_EQ(core.applied(), L(208));
  EXPECT_EQ(core.State(false), ExactlyOnce::SessionState::kReachedStop);
}

TEST(ExactlyOnce, AFailureFinishingTheGroupInFlightIsJudgedOnThatGroup) {
  ExactlyOnce core(L(50), std::nullopt);
  core.StartSession(Lsn{});
  for (uint64_t t : {200, 300}) {
    core.OnBegin(L(t));
    core.OnCommit(L(t + 8), 1, Clock::time_point{});
  }
  core.OnGroupSent();
  core.OnBegin(L(400));  // the next group, open on the other connection
  core.OnCommit(L(408), 1, Clock::time_point{});
  core.InFlightFailed();  // its change of transaction 300 was rejected
  EXPECT_EQ(core.group_first(), L(200));
  EXPECT_EQ(core.group_transactions(), 2u);
  EXPECT_EQ(core.OnFailure(Failure{.rejected_txn = L(300)}, Clock::time_point{}), FailureAction::kIsolate);
}

TEST(ExactlyOnce, CrashedTargetReusingWalPositionsNeverConfirmsLostCommits) {
  Harness h(6);
  h.RunSession(3, 3);  // group 1 (txns 1-3) committed at target WAL 1050, priced, not flushed
  EXPECT_EQ(h.core.confirmed(), L(50));
  h.target.Crash();  // lost; the target's new WAL reuses 1000..1050
  h.StartSession();
  // New unrelated WAL flushed past the old price: the lost group must not be confirmed by it.
  h.target.insert = h.target.flush = 2000;
  h.Probe();
  EXPECT_EQ(h.core.confirmed(), L(50));
  EXPECT_EQ(h.core.skip_before(), L(50));
}

TEST(ExactlyOnce, CheckpointReadAtStartIsConfirmedOnlyOnceFlushed) {
  // A killed walferry left an async commit that the next process reads: not durable until the target says so.
  Harness h(4);
  h.RunSession(4);
  ExactlyOnce fresh(L(50), std::nullopt);
  EXPECT_EQ(fresh.StartSession(h.target.Checkpoint()), L(408));
  EXPECT_EQ(fresh.confirmed(), L(50));
  fresh.OnTargetWal(L(h.target.insert), L(h.target.flush));
  EXPECT_EQ(fresh.confirmed(), L(50));
  h.target.FlushAll();
  fresh.OnTargetWal(L(h.target.insert), L(h.target.flush));
  EXPECT_EQ(fresh.confirmed(), L(408));
}

TEST(ExactlyOnce, KilledAtEveryPointAppliesEveryTransactionExactlyOnce) {
  // walferry killed after k delivered transactions (mid-group, right after a commit, before and after the
  // probe), with the target flushing only sometimes; then a fresh process; all combinations.
  for (size_t per_group : {1u, 2u, 3u}) {
    for (size_t kill_at = 0; kill_at <= 9; ++kill_at) {
      for (bool crash_target : {false, true}) {
        Harness h(9);
        h.RunSession(per_group, kill_at);
        if (kill_at % 2 == 0) {
          h.target.FlushAll();
          h.Probe();
        }
        if (crash_target) h.target.Crash();
        // A new process: a new core, the slot where the server kept it.
        h.core = ExactlyOnce(L(50), std::nullopt);
        h.RunSession(per_group);
        h.target.FlushAll();
        h.Probe();
        SCOPED_TRACE("per_group " + std::to_string(per_group) + " kill_at " + std::to_string(kill_at) +
                     (crash_target ? " with a target crash" : ""));
        h.ExpectExactlyOnce();
        EXPECT_EQ(h.slot, L(908));
      }
    }
  }
}

// Idle keepalives confirm WAL past the checkpoint (other tables' writes); walferry is then killed and the target
// crashes, losing an unflushed group: the slot is past the recovered checkpoint, but not past what was recorded,
// so the new process goes on, and every transaction is on the target exactly once.
TEST(ExactlyOnce, ASlotConfirmedPastTheCheckpointByKeepalivesIsNotTakenForMoved) {
  for (bool crash_target : {false, true}) {
    SCOPED_TRACE(crash_target ? "with a target crash" : "no target crash");
    Harness h(9);
    h.source.resize(4);  // transactions at 100..400
    h.RunSession(2);
    h.target.FlushAll();
    h.Probe();
    h.core.OnWalEnd(L(450), true);  // idle: WAL of other tables up to 450
    h.target.insert += 10;          // the status write that flushed it
    h.target.FlushAll();
    h.Probe();
    EXPECT_EQ(h.slot, L(450));
    EXPECT_EQ(h.recorded, L(450));
    // More transactions, one group committed but not flushed, then the crash.
    h.source = Txns(9);
    h.RunSession(9, 3);
    h.CommitGroup();
    if (crash_target) h.target.Crash();
    h.core = ExactlyOnce(L(50), std::nullopt);
    h.RunSession(2);
    h.target.FlushAll();
    h.Probe();
    h.ExpectExactlyOnce();
    EXPECT_EQ(h.slot, L(908));
  }
}

TEST(ExactlyOnce, ASlotMovedPastEverythingWalferryToldItIsAGap) {
  ExactlyOnce core(L(50), std::nullopt);
  core.StartSession(L(208));  // the checkpoint
  // pg_replication_slot_advance moved the slot to 600: the transactions between 208 and 600 never come.
  EXPECT_EQ(core.OnSlotPosition(L(600), L(300)), L(300));
  EXPECT_EQ(core.confirmed(), L(50)) << "a moved slot's position is not adopted";
  ExactlyOnce fresh(L(50), std::nullopt);
  fresh.StartSession(Lsn{});
  EXPECT_EQ(fresh.OnSlotPosition(L(51), Lsn{}), L(50)) << "past the start with nothing applied or recorded";
  EXPECT_EQ(fresh.OnSlotPosition(L(50), Lsn{}), std::nullopt);
}

TEST(ExactlyOnce, ANewProcessConfirmsFromTheSlotsPositionNotItsStart) {
  ExactlyOnce core(L(50), std::nullopt);
  core.StartSession(L(208));
  EXPECT_EQ(core.OnSlotPosition(L(450), L(450)), std::nullopt);
  EXPECT_EQ(core.confirmed(), L(450));  // the first feedback reports 450, never the start (50) nor 208
  EXPECT_EQ(core.skip_before(), L(450));
  EXPECT_EQ(core.handled(), L(450));
  EXPECT_EQ(core.ToRecord(), std::nullopt) << "450 is recorded already";
  // A slot behind the checkpoint (the last confirmation was not sent before a kill): the checkpoint is not
  // confirmed until a probe shows it flushed; the slot's own position is.
  ExactlyOnce behind(L(50), std::nullopt);
  behind.StartSession(L(208));
  EXPECT_EQ(behind.OnSlotPosition(L(108), L(108)), std::nullopt);
  EXPECT_EQ(behind.confirmed(), L(108));
  EXPECT_EQ(behind.skip_before(), L(208));
}

TEST(ExactlyOnce, AConfirmedPositionIsRecordedBeforeTheSlotMayBeToldIt) {
  ExactlyOnce core(L(50), std::nullopt);
  core.StartSession(Lsn{});
  EXPECT_EQ(core.OnSlotPosition(L(50), Lsn{}), std::nullopt);
  EXPECT_EQ(core.ToRecord(), L(50));  // the start itself, once: the row exists from the first session on
  core.OnRecorded(L(50));
  EXPECT_EQ(core.ToRecord(), std::nullopt);
  core.OnWalEnd(L(700), true);
  core.OnTargetWal(L(5000), L(5000));
  EXPECT_EQ(core.confirmed(), L(700));
  EXPECT_EQ(core.ToRecord(), L(700));
  core.OnRecorded(L(700));
  EXPECT_EQ(core.recorded(), L(700));
  EXPECT_EQ(core.ToRecord(), std::nullopt);
}

TEST(ExactlyOnce, SkipsTransactionsBelowTheCheckpoint) {
  ExactlyOnce core(L(50), std::nullopt);
  EXPECT_EQ(core.StartSession(L(308)), L(308));
  EXPECT_EQ(core.OnBegin(L(300)), BeginAction::kSkip);
  EXPECT_FALSE(core.applying());
  EXPECT_FALSE(core.OnCommit(L(308), 0, Clock::time_point{}));
  EXPECT_EQ(core.OnBegin(L(400)), BeginAction::kApply);
  EXPECT_TRUE(core.applying());
  EXPECT_TRUE(core.OnCommit(L(408), 2, Clock::time_point{}));
  EXPECT_TRUE(core.group_open());
  EXPECT_EQ(core.group_rows(), 2u);
}

TEST(ExactlyOnce, StopPositionEndsBeforeTheFirstTransactionAtOrAfterIt) {
  ExactlyOnce core(L(50), L(300));
  core.StartSession(Lsn{});
  EXPECT_EQ(core.OnBegin(L(200)), BeginAction::kApply);
  core.OnCommit(L(208), 1, Clock::time_point{});
  EXPECT_EQ(core.State(false), ExactlyOnce::SessionState::kRunning);
  EXPECT_EQ(core.OnBegin(L(300)), BeginAction::kStop);
  EXPECT_TRUE(core.GroupDue(Clock::time_point{}, false));  // the open group commits before the session ends
  EXPECT_EQ(core.State(false), ExactlyOnce::SessionState::kRunning);
  core.OnGroupCommitted();
  EXPECT_EQ(core.State(false), ExactlyOnce::SessionState::kReachedStop);
}

TEST(ExactlyOnce, StopPositionLearnedWhileRunningKeepsTheEarlierOne) {
  ExactlyOnce core(L(50), std::nullopt);
  core.StartSession(Lsn{});
  EXPECT_EQ(core.OnBegin(L(200)), BeginAction::kApply);
  core.OnCommit(L(208), 1, Clock::time_point{});
  core.StopAt(L(400));  // a cutover's final position, told while the worker runs
  core.StopAt(L(500));  // a later one does not move it
  EXPECT_EQ(core.stop_at(), L(400));
  EXPECT_EQ(core.OnBegin(L(300)), BeginAction::kApply);
  core.OnCommit(L(308), 1, Clock::time_point{});
  EXPECT_EQ(core.OnBegin(L(400)), BeginAction::kStop);
  core.OnGroupCommitted();
  EXPECT_EQ(core.State(false), ExactlyOnce::SessionState::kReachedStop);
}

TEST(ExactlyOnce, IdleKeepalivePastTheStopPositionEndsTheSession) {
  ExactlyOnce core(L(50), L(300));
  core.StartSession(Lsn{});
  core.OnWalEnd(L(250), true);
  EXPECT_EQ(core.State(false), ExactlyOnce::SessionState::kRunning);
  core.OnWalEnd(L(300), true);
  EXPECT_EQ(core.State(false), ExactlyOnce::SessionState::kReachedStop);
}

TEST(ExactlyOnce, KeepaliveAdvancesOnlyWhileIdleAndOnlyOnceDurable) {
  ExactlyOnce core(L(50), std::nullopt);
  core.StartSession(Lsn{});
  core.OnBegin(L(100));
  core.OnWalEnd(L(500), true);  // inside a transaction: nothing before 500 is handled
  EXPECT_EQ(core.handled(), L(50));
  core.OnCommit(L(108), 1, Clock::time_point{});
  core.OnWalEnd(L(600), true);  // a group is open, not committed: still not
  EXPECT_EQ(core.handled(), L(50));
  core.OnGroupCommitted();
  EXPECT_EQ(core.handled(), L(108));
  core.OnWalEnd(L(700), true);
  EXPECT_EQ(core.handled(), L(700));
  core.OnTargetWal(L(5000), L(4000));  // the group's commit is not flushed yet
  EXPECT_EQ(core.confirmed(), L(50));
  core.OnTargetWal(L(5100), L(5000));
  EXPECT_EQ(core.confirmed(), L(700));
}

TEST(ExactlyOnce, XLogDataEndIsReceivedNotHandled) {
  ExactlyOnce core(L(50), std::nullopt);
  core.StartSession(Lsn{});
  core.OnWalEnd(L(900), false);
  EXPECT_EQ(core.received(), L(900));
  EXPECT_EQ(core.handled(), L(50));
  EXPECT_FALSE(core.caught_up());
}

TEST(ExactlyOnce, GroupBoundsAndNeverSplittingATransaction) {
  Clock::time_point t0{};
  ExactlyOnce core(L(50), std::nullopt, GroupLimits{.max_transactions = 2, .max_rows = 10, .max_age = 500ms});
  core.StartSession(Lsn{});
  core.OnBegin(L(100));
  EXPECT_FALSE(core.GroupDue(t0 + 1h, true));  // inside a transaction: never
  core.OnCommit(L(108), 1, t0);
  EXPECT_FALSE(core.GroupDue(t0 + 499ms, false));
  EXPECT_TRUE(core.GroupDue(t0 + 500ms, false));
  EXPECT_TRUE(core.GroupDue(t0, true));  // a stop request commits what is complete
  core.OnBegin(L(200));
  core.OnCommit(L(208), 1, t0);
  EXPECT_TRUE(core.GroupDue(t0, false));  // two transactions
  core.OnGroupCommitted();
  core.OnBegin(L(300));
  core.OnCommit(L(308), 10, t0);
  EXPECT_TRUE(core.GroupDue(t0, false));  // ten rows
  EXPECT_TRUE(core.GroupCommittable());
}

TEST(ExactlyOnce, RejectedChangeInsideAGroupIsolatesTheTransactionsBeforeIt) {
  Clock::time_point t0{};
  ExactlyOnce core(L(50), std::nullopt);
  core.StartSession(Lsn{});
  core.OnBegin(L(100));
  core.OnCommit(L(108), 1, t0);
  core.OnBegin(L(200));  // its change is rejected
  EXPECT_EQ(core.OnFailure({.rejected_txn = L(200)}, t0), FailureAction::kIsolate);
  core.StartSession(Lsn{});
  core.OnBegin(L(100));
  core.OnCommit(L(108), 1, t0);
  EXPECT_TRUE(core.GroupDue(t0, false));  // replay: committed alone, before the rejected one arrives
  core.OnGroupCommitted();
  core.OnBegin(L(200));
  // The same change rejected again, now alone: the set fails at exactly that transaction, after the first one.
  EXPECT_EQ(core.OnFailure({.rejected_txn = L(200)}, t0), FailureAction::kFail);
  EXPECT_EQ(core.applied(), L(108));
}

TEST(ExactlyOnce, RejectedChangeDetectedOneBatchLateStillIsolates) {
  // Results are read one batch behind: the failure of transaction 200 may surface while 300 is open.
  Clock::time_point t0{};
  ExactlyOnce core(L(50), std::nullopt);
  core.StartSession(Lsn{});
  for (uint64_t t : {100, 200}) {
    core.OnBegin(L(t));
    core.OnCommit(L(t + 8), 1, t0);
  }
  core.OnBegin(L(300));
  EXPECT_EQ(core.OnFailure({.rejected_txn = L(200)}, t0), FailureAction::kIsolate);
}

TEST(ExactlyOnce, RejectedGroupCommitReplaysEveryTransactionOfTheGroupAlone) {
  // A deferred constraint fails the group's COMMIT: the culprit is unknown until each transaction commits alone.
  Clock::time_point t0{};
  ExactlyOnce core(L(50), std::nullopt);
  core.StartSession(Lsn{});
  for (uint64_t t : {100, 200, 300}) {
    core.OnBegin(L(t));
    core.OnCommit(L(t + 8), 1, t0);
  }
  EXPECT_EQ(core.OnFailure({.rejected_at_commit = true}, t0), FailureAction::kIsolate);
  core.StartSession(Lsn{});
  for (uint64_t t : {100, 200}) {
    core.OnBegin(L(t));
    core.OnCommit(L(t + 8), 1, t0);
    EXPECT_TRUE(core.GroupDue(t0, false)) << t;
    core.OnGroupCommitted();
  }
  core.OnBegin(L(300));
  core.OnCommit(L(308), 1, t0);
  EXPECT_TRUE(core.GroupDue(t0, false));
  // Its own COMMIT fails again, alone: the set fails with 100 and 200 committed.
  EXPECT_EQ(core.OnFailure({.rejected_at_commit = true}, t0), FailureAction::kFail);
  EXPECT_EQ(core.applied(), L(208));
}

TEST(ExactlyOnce, RejectedFirstTransactionFailsOrSuspendsWithoutReplay) {
  Clock::time_point t0{};
  ExactlyOnce core(L(50), std::nullopt);
  core.StartSession(Lsn{});
  core.OnBegin(L(100));
  EXPECT_EQ(core.OnFailure({.rejected_txn = L(100)}, t0), FailureAction::kFail);
  core.StartSession(Lsn{});
  core.OnBegin(L(100));
  EXPECT_EQ(core.OnFailure({.rejected_txn = L(100), .suspend_policy = true}, t0), FailureAction::kSuspend);
  core.StartSession(Lsn{});
  core.OnBegin(L(100));
  EXPECT_EQ(core.OnFailure({.rejected_txn = L(100), .suspend_policy = true, .stop_requested = true}, t0),
            FailureAction::kFail);
}

TEST(ExactlyOnce, RetriesForTheConfiguredTimeThenFails) {
  Clock::time_point t0{};
  ExactlyOnce core(L(50), std::nullopt, {}, RetryLimits{.retry_for = 15min, .max_retries = 0});
  core.StartSession(Lsn{});
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(core.OnFailure({.retriable = true}, t0 + std::chrono::seconds(i * 9)), FailureAction::kRetry) << i;
  }
  EXPECT_EQ(core.OnFailure({.retriable = true}, t0 + 15min), FailureAction::kFail);
  EXPECT_EQ(core.OnFailure({.retriable = false}, t0), FailureAction::kFail);
}

TEST(ExactlyOnce, ProgressResetsTheRetryBudget) {
  Clock::time_point t0{};
  ExactlyOnce core(L(50), std::nullopt, {}, RetryLimits{.retry_for = 60s, .max_retries = 3});
  core.StartSession(Lsn{});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(core.OnFailure({.retriable = true}, t0), FailureAction::kRetry);
  core.StartSession(Lsn{});
  core.OnBegin(L(100));
  core.OnCommit(L(108), 1, t0);
  core.OnGroupCommitted();
  EXPECT_EQ(core.consecutive_failures(), 0);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(core.OnFailure({.retriable = true}, t0 + 59s), FailureAction::kRetry);
  EXPECT_EQ(core.OnFailure({.retriable = true}, t0 + 59s), FailureAction::kFail);  // the count limit
  EXPECT_EQ(core.OnFailure({.retriable = true, .stop_requested = true}, t0), FailureAction::kFail);
}

TEST(ExactlyOnce, EmptyTransactionsAndKeepaliveOnlyPeriods) {
  ExactlyOnce core(L(50), std::nullopt);
  core.StartSession(Lsn{});
  core.OnBegin(L(100));
  EXPECT_TRUE(core.OnCommit(L(108), 0, Clock::time_point{}));  // an empty transaction still joins the group
  core.OnGroupCommitted();
  EXPECT_EQ(core.applied(), L(108));
  for (uint64_t w = 200; w <= 1000; w += 100) core.OnWalEnd(L(w), true);
  EXPECT_TRUE(core.caught_up());
  core.OnTargetWal(L(7000), L(7000));
  EXPECT_EQ(core.confirmed(), L(1000));
  EXPECT_FALSE(core.unconfirmed());
}

TEST(ExactlyOnce, ProtocolViolationsThrow) {
  ExactlyOnce core(L(50), std::nullopt);
  core.StartSession(Lsn{});
  EXPECT_THROW(core.OnCommit(L(108), 0, Clock::time_point{}), Error);
  core.OnBegin(L(100));
  EXPECT_THROW(core.OnBegin(L(200)), Error);
  EXPECT_THROW(core.OnGroupCommitted(), Error);
}

TEST(ExactlyOnce, BackoffDoublesFromHalfASecondUpToTenSeconds) {
  EXPECT_EQ(ExactlyOnce::Backoff(1), 500ms);
  EXPECT_EQ(ExactlyOnce::Backoff(2), 1000ms);
  EXPECT_EQ(ExactlyOnce::Backoff(5), 8000ms);
  EXPECT_EQ(ExactlyOnce::Backoff(6), 10000ms);
  EXPECT_EQ(ExactlyOnce::Backoff(100), 10000ms);
}

}  // namespace
}  // namespace walferry::cdc
