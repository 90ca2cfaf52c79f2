// The chaos suite (label "chaos"): `walferry cdc` runs in the background, restarted whenever it exits, while a
// writer runs random multi-statement transactions on the source over tables of every replica identity kind
// (primary key, USING INDEX, FULL with duplicate rows, a partitioned table with rows moving between partitions,
// an INHERITS parent written with ONLY and its child, and an append-only `tick` table written by every
// transaction). walferry reaches both servers through loopback proxies (support/tcp_proxy.h); the test's own
// connections go direct. Faults, shuffled by a seed and spaced by random gaps:
//   - walferry killed with SIGKILL (>= 20 times, at a random moment after a start). The target proxy stalls the
//     moment before, so walferry's apply session keeps the state the kill found: a kill counts as "inside a group"
//     when that session was between the BEGIN and the COMMIT of a target transaction (pg_stat_activity: idle in
//     transaction, or executing a statement other than COMMIT) and that group never committed (the checkpoint row
//     has not moved once the session is gone); the proxy cuts after the look (what walferry sent after the stall
//     is dropped, as if it had died a moment earlier). Two kills in three are aimed: the source stream is
//     held back for a second (a backlog, so large groups), then the kill waits (at most 5 s) for the apply
//     session to be seen inside a group: a group is open for milliseconds at a time.
//   - the target stopped with `-m immediate` and started again (6 times, once for 65 s), aimed at an unwritten
//     group commit (CrashTarget): the target's WAL writer runs every 10 s and walferry commits its groups with
//     synchronous_commit off, so a crash loses the last ones; it counts as "lost a commit" only when the
//     checkpoint row the target recovered is behind the one read just before the crash. At every crash the
//     durability rule is checked: no published transaction the slot confirmed (read while the target is down) is
//     missing from the recovered target (LostForGood, with the witness slot below).
//   - the source stopped with `-m immediate` and started again (3 times),
//   - each proxy cut (6 times each, each waiting at most 15 s for walferry to have a connection through it) and
//     stalled once: a half-open connection that only a timeout can notice; walferry must give up on it and make
//     progress through a new connection within kStallLimit.
// A fault is counted only when it happened: a kill when walferry was running and died of the SIGKILL, a stop when
// the server refused connections after it and answered with a new pg_postmaster_start_time after the start, a cut
// when it closed connections, a stall when it caught connections and walferry left them. Each class must reach
// its minimum (ChaosPlan), or the test fails: faults that stop landing prove nothing. Every run of walferry must
// have ended by the test's SIGKILL: a run that exited by itself (FAILED, a crash, a sanitizer report) fails the
// test, it is not just respawned.
// The end: the writer stops, faults stop, `walferry cdc --until-caught-up` runs to completion (exit 0), then every
// table (each partition and ONLY the parent too) equals the source, row counts match, no key appears twice, the
// checkpoint is the end LSN of the last published source transaction (found by an independent witness slot),
// the slot confirmed at least that much, the status row is not FAILED, and no change was recorded as not
// applied nor any table suspended (the source made no change the target could reject).
// That is the first test, under cdc.error_policy stop. The second runs fewer faults under log-and-continue, then
// suspend-table (switched halfway): a fault must never be charged to a change under those policies either.
//
// Replay: the seed is printed; WALFERRY_CHAOS_SEED=N reruns the same fault order, gaps and writer choices (the
// timing of the machine still differs). Each fault's outcome is printed as it happens; the walferry log (every run
// appended) is printed in part on failure.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "cdc_support.h"
#include "support/tcp_proxy.h"

namespace walferry {
namespace {

using cdctest::CdcFixture;
using cdctest::Published;
using cdctest::PublishedTxn;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr uint32_t kDefaultSeed = 20261202;
constexpr auto kStallLimit = seconds(45);
constexpr auto kLongTargetOutage = seconds(65);

const char* kSchema = R"sql(
CREATE TABLE pk_t (id int PRIMARY KEY, v int NOT NULL, note text);
CREATE TABLE idx_t (a int NOT NULL, b int NOT NULL, v int);
CREATE UNIQUE INDEX idx_t_ab ON idx_t (a, b);
ALTER TABLE idx_t REPLICA IDENTITY USING INDEX idx_t_ab;
CREATE TABLE full_t (a int, b text);
ALTER TABLE full_t REPLICA IDENTITY FULL;
CREATE TABLE parted (id int NOT NULL, region int NOT NULL, v int, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES IN (1);
CREATE TABLE parted_2 PARTITION OF parted FOR VALUES IN (2);
CREATE TABLE parted_3 PARTITION OF parted FOR VALUES IN (3);
CREATE TABLE parent (id int PRIMARY KEY, v int);
CREATE TABLE child (extra int) INHERITS (parent);
ALTER TABLE child ADD PRIMARY KEY (id);
CREATE TABLE tick (id bigserial PRIMARY KEY, txn bigint NOT NULL)
)sql";

const std::vector<std::string> kSetTables = {"public.pk_t",   "public.idx_t", "public.full_t", "public.parted",
                                             "public.parent", "public.child", "public.tick"};

uint32_t Seed() {
  const char* env = std::getenv("WALFERRY_CHAOS_SEED");
  return env ? static_cast<uint32_t>(std::strtoul(env, nullptr, 10)) : kDefaultSeed;
}

std::string P(int64_t v) { return std::to_string(v); }

// Random transactions on the source until stopped; reconnects when the source goes away.
class ChaosWriter {
 public:
  ChaosWriter(std::string db, uint32_t seed) : db_(std::move(db)), rng_(seed), thread_([this] { Loop(); }) {}
  ~ChaosWriter() { Stop(); }
  void Stop() {
    done_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  int committed() const { return committed_.load(); }
  int failed() const { return failed_.load(); }

 private:
  int R(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }

  void Loop() {
    while (!done_.load()) {
      try {
        pg::Connection c = test::ConnectSource(db_);
        while (!done_.load()) {
          OneTransaction(c);
          std::this_thread::sleep_for(milliseconds(20));  // pacing: the ASan build must keep up
        }
      } catch (const Error&) {
        failed_.fetch_add(1);
        std::this_thread::sleep_for(milliseconds(200));  // the source is restarting
      }
    }
  }

  void OneTransaction(pg::Connection& c) {
    ++txn_;
    c.Exec("BEGIN");
    if (txn_ % 97 == 0) {
      static const char* kTruncates[] = {"TRUNCATE full_t", "TRUNCATE ONLY parent", "TRUNCATE parted",
                                         "TRUNCATE idx_t"};
      c.Exec(kTruncates[R(4)]);
    } else {
      for (int n = 1 + R(5); n > 0; --n) OneStatement(c);
    }
    c.Exec("INSERT INTO tick (txn) VALUES ($1)", {pg::Param(P(txn_))});
    if (R(10) == 0) {
      c.Exec("ROLLBACK");
    } else {
      c.Exec("COMMIT");
      committed_.fetch_add(1);
    }
  }

  void OneStatement(pg::Connection& c) {
    switch (R(5)) {
      case 0: {  // primary key, including key changes
        std::string id = P(R(500)), other = P(R(1000));
        switch (R(4)) {
          case 0:
            c.Exec("INSERT INTO pk_t VALUES ($1, 0, 'n') ON CONFLICT (id) DO UPDATE SET v = pk_t.v + 1",
                   {pg::Param(id)});
            break;
          case 1:
            c.Exec("UPDATE pk_t SET v = v + 1, note = md5(random()::text) WHERE id = $1", {pg::Param(id)});
            break;
          case 2:
            c.Exec("DELETE FROM pk_t WHERE id = $1", {pg::Param(id)});
            break;
          default:
            c.Exec("UPDATE pk_t SET id = $2 WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM pk_t WHERE id = $2)",
                   {pg::Param(id), pg::Param(other)});
        }
        break;
      }
      case 1: {  // REPLICA IDENTITY USING INDEX, including key changes
        std::string a = P(R(20)), b = P(R(20)), b2 = P(R(20));
        switch (R(4)) {
          case 0:
            c.Exec("INSERT INTO idx_t VALUES ($1, $2, 0) ON CONFLICT (a, b) DO UPDATE SET v = idx_t.v + 1",
                   {pg::Param(a), pg::Param(b)});
            break;
          case 1:
            c.Exec("UPDATE idx_t SET v = v + 1 WHERE a = $1", {pg::Param(a)});
            break;
          case 2:
            c.Exec("UPDATE idx_t SET b = $3 WHERE a = $1 AND b = $2 "
                   "AND NOT EXISTS (SELECT 1 FROM idx_t WHERE a = $1 AND b = $3)",
                   {pg::Param(a), pg::Param(b), pg::Param(b2)});
            break;
          default:
            c.Exec("DELETE FROM idx_t WHERE a = $1 AND b = $2", {pg::Param(a), pg::Param(b)});
        }
        break;
      }
      case 2: {  // REPLICA IDENTITY FULL with duplicate rows
        std::string a = P(R(10)), b = R(2) ? "x" : "y";
        switch (R(4)) {
          case 0:
            c.Exec("INSERT INTO full_t VALUES ($1, $2), ($1, $2)", {pg::Param(a), pg::Param(b)});
            break;
          case 1:
            c.Exec("UPDATE full_t SET b = $2 WHERE ctid = (SELECT ctid FROM full_t WHERE a = $1 LIMIT 1)",
                   {pg::Param(a), pg::Param(b)});
            break;
          case 2:
            c.Exec("DELETE FROM full_t WHERE ctid = (SELECT ctid FROM full_t WHERE a = $1 LIMIT 1)",
                   {pg::Param(a)});
            break;
          default:
            c.Exec("UPDATE full_t SET b = b || '' WHERE a = $1", {pg::Param(a)});  // every duplicate at once
        }
        break;
      }
      case 3: {  // partitioned, rows moving between partitions
        std::string from = P(R(static_cast<int>(next_id_) + 1)), region = P(1 + R(3));
        switch (R(4)) {
          case 0:
            c.Exec("INSERT INTO parted VALUES ($1, $2, 0)", {pg::Param(P(++next_id_)), pg::Param(region)});
            break;
          case 1:
            c.Exec("UPDATE parted SET region = $2 WHERE id = (SELECT min(id) FROM parted WHERE id >= $1)",
                   {pg::Param(from), pg::Param(region)});
            break;
          case 2:
            c.Exec("UPDATE parted SET v = v + 1 WHERE id = (SELECT min(id) FROM parted WHERE id >= $1)",
                   {pg::Param(from)});
            break;
          default:
            c.Exec("DELETE FROM parted WHERE id = (SELECT min(id) FROM parted WHERE id >= $1)", {pg::Param(from)});
        }
        break;
      }
      default: {  // INHERITS: the parent only ever written with ONLY; ids overlap with the child's
        std::string id = P(R(200));
        switch (R(6)) {
          case 0:
            c.Exec("INSERT INTO parent VALUES ($1, 0) ON CONFLICT (id) DO NOTHING", {pg::Param(id)});
            break;
          case 1:
            c.Exec("INSERT INTO child VALUES ($1, 0, 0) ON CONFLICT (id) DO NOTHING", {pg::Param(id)});
            break;
          case 2:
            c.Exec("UPDATE ONLY parent SET v = v + 1 WHERE id = $1", {pg::Param(id)});
            break;
          case 3:
            c.Exec("DELETE FROM ONLY parent WHERE id = $1", {pg::Param(id)});
            break;
          case 4:
            c.Exec("UPDATE child SET v = v + 1, extra = extra + 1 WHERE id = $1", {pg::Param(id)});
            break;
          default:
            c.Exec("DELETE FROM child WHERE id = $1", {pg::Param(id)});
        }
      }
    }
  }

  std::string db_;
  std::mt19937 rng_;  // used by the writer thread only
  int64_t txn_ = 0;
  int64_t next_id_ = 0;
  std::atomic<bool> done_{false};
  std::atomic<int> committed_{0};
  std::atomic<int> failed_{0};
  std::thread thread_;
};

// Keeps `walferry cdc` running: respawns it whenever it exited (at most once a second, and never sooner than a
// second after a kill), and kills it on request. Every run's end is recorded: a run ended by Kill() must have died
// of that SIGKILL; any other end (an exit of its own: FAILED, a crash, a sanitizer report, ...) is unexpected, is
// listed by Unexpected() and fails the test. Nothing is respawned and forgotten.
class Supervisor {
 public:
  Supervisor(std::vector<std::string> args, std::string log, Clock::time_point started)
      : args_(std::move(args)), log_(std::move(log)), started_(started) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~Supervisor() { Stop(); }

  // SIGKILL to the running walferry; true when one was running and died of it. False when none was running, or
  // it had ended by itself just before (recorded as unexpected).
  bool Kill() {
    std::lock_guard lock(mu_);
    if (pid_ <= 0) return false;
    kill(pid_, SIGKILL);
    next_spawn_ = Clock::now() + seconds(1);  // the test looks at the dead run's target session meanwhile
    return Reap(0, true);
  }
  // Stops respawning and kills the running walferry.
  void Stop() {
    done_.store(true);
    if (thread_.joinable()) thread_.join();
    Kill();
  }
  std::string Summary() const {
    std::lock_guard lock(mu_);
    std::ostringstream s;
    s << spawns_ << " starts; ends:";
    for (const auto& [what, n] : ends_) s << " " << what << " x" << n;
    return s.str();
  }
  // Runs that ended other than by the test's SIGKILL, each with its wait status and when.
  std::vector<std::string> Unexpected() const {
    std::lock_guard lock(mu_);
    return unexpected_;
  }

 private:
  void Loop() {
    while (!done_.load()) {
      {
        std::lock_guard lock(mu_);
        if (pid_ > 0) Reap(WNOHANG, false);
        if (pid_ <= 0 && Clock::now() >= next_spawn_) {
          pid_ = test::SpawnWalferry(args_, false, log_);
          next_spawn_ = Clock::now() + seconds(1);
          ++spawns_;
        }
      }
      std::this_thread::sleep_for(milliseconds(100));
    }
  }
  // Holding mu_. Returns true when the run ended as `killed` says it should (SIGKILL from Kill()).
  bool Reap(int flags, bool killed) {
    int status = 0;
    if (waitpid(pid_, &status, flags) != pid_) return false;
    pid_ = -1;
    std::string what = WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                           : "exit " + std::to_string(WEXITSTATUS(status));
    ++ends_[what];
    bool expected = killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    if (!expected) {
      const auto at = std::chrono::duration_cast<seconds>(Clock::now() - started_).count();
      unexpected_.push_back(what + (killed ? " (ended by itself before the SIGKILL)" : " (ended by itself)") + " at +" +
                            std::to_string(at) + " s");
    }
    return expected;
  }

  std::vector<std::string> args_;
  std::string log_;
  Clock::time_point started_;
  mutable std::mutex mu_;
  pid_t pid_ = -1;
  int spawns_ = 0;
  std::map<std::string, int> ends_;
  std::vector<std::string> unexpected_;
  Clock::time_point next_spawn_{};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

int64_t MaxTick(localcluster::LocalCluster& cluster, const std::string& db) {
  try {
    return pg::Connection::Open(cluster.Uri(db)).Exec("SELECT coalesce(max(id), 0) FROM tick").GetInt(0, 0);
  } catch (const Error&) {
    return -1;  // the server is restarting
  }
}

// The distinct lines of walferry's log worth reading after a failure (errors, warnings, failures), timestamps
// cut, each with its count and the time it first appeared, in order of first appearance; at most `limit`.
std::string InterestingLog(const std::string& path, size_t limit = 60) {
  std::ifstream in(path);
  std::vector<std::string> order;
  std::map<std::string, std::pair<std::string, int>> seen;  // message -> (first time, count)
  for (std::string line; std::getline(in, line);) {
    std::string lower = line;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (lower.find("error") == std::string::npos && lower.find("warn") == std::string::npos &&
        lower.find("fail") == std::string::npos && lower.find("sanitizer") == std::string::npos) {
      continue;
    }
    bool stamped = line.size() > 24 && line[4] == '-' && line[10] == ' ';
    std::string when = stamped ? line.substr(11, 12) : "";
    std::string message = (stamped ? line.substr(24) : line).substr(0, 400);
    auto [it, added] = seen.try_emplace(message, when, 0);
    ++it->second.second;
    if (added) order.push_back(message);
  }
  std::string out;
  for (size_t i = 0; i < order.size() && i < limit; ++i) {
    const auto& [when, count] = seen[order[i]];
    out += when + " x" + std::to_string(count) + " " + order[i] + "\n";
  }
  return out;
}

// The config written by CdcFixture, with the source and target URIs pointing at the proxies.
void PointConfigAtProxies(const CdcFixture& f, const test::TcpProxy& source, const test::TcpProxy& target) {
  std::ifstream in(f.config_path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto replace = [&](const std::string& from, const std::string& to) {
    size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
  };
  replace("\"" + test::Source().Uri(f.db) + "\"", "\"postgresql://postgres@127.0.0.1:" + P(source.port()) + "/" + f.db + "\"");
  replace("\"" + test::Target().Uri(f.db) + "\"", "\"postgresql://postgres@127.0.0.1:" + P(target.port()) + "/" + f.db + "\"");
  std::ofstream(f.config_path, std::ios::trunc) << text;
}

// Polls until walferry streams from the set's slot and its apply backend is connected to the target.
bool WhenStreaming(const CdcFixture& f) {
  return test::PollUntil([&] {
    try {
      bool slot = test::ConnectSource(f.db)
                      .Exec("SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1 AND active",
                            {pg::Param("walferry_" + f.set)})
                      .GetInt(0, 0) == 1;
      bool apply = test::ConnectTarget(f.db)
                       .Exec("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                             {pg::Param("walferry_apply_" + f.set)})
                       .GetInt(0, 0) == 1;
      return slot && apply;
    } catch (const Error&) {
      return false;  // a server is restarting
    }
  }, seconds(60));
}

// When the server last started (pg_postmaster_start_time), "" when it does not answer: a stop and start that
// really happened is a refused connection in between and a new start time after.
std::string StartTime(localcluster::LocalCluster& cluster, const std::string& db) {
  try {
    return std::string(pg::Connection::Open(cluster.Uri(db)).Exec("SELECT pg_postmaster_start_time()::text").Get(0, 0));
  } catch (const Error&) {
    return "";
  }
}

Lsn CheckpointOf(pg::Connection& t, const std::string& set) {
  pg::Result r = t.Exec("SELECT applied_lsn::text FROM walferry.checkpoint WHERE set_name = $1", {pg::Param(set)});
  return r.rows() == 1 ? Lsn::Parse(r.Get(0, 0)) : Lsn{};
}

// Whether walferry's apply session on the target is between the BEGIN and the COMMIT of a group: waiting for input
// inside its transaction, or executing one of its statements other than the COMMIT itself. Asked while the target
// proxy stalls the session (nothing more reaches the backend), so the answer is the state the fault found.
bool ApplyMidGroup(pg::Connection& t, const std::string& set) {
  pg::Result r = t.Exec(
      "SELECT coalesce(state LIKE 'idle in transaction%' OR (state = 'active' AND xact_start < query_start "
      "AND query NOT ILIKE 'commit%'), false) FROM pg_stat_activity WHERE application_name = $1 "
      "ORDER BY backend_start DESC LIMIT 1",
      {pg::Param("walferry_apply_" + set)});
  return r.rows() == 1 && r.GetBool(0, 0);
}

// The durability rule seen from outside: the server never sends again a transaction whose commit record starts
// before the slot's confirmed position, so every such transaction must be on the target for good, i.e. end at or
// before the checkpoint the target recovered after a crash. "" when that holds, else the first one lost for good.
std::string LostForGood(const std::vector<PublishedTxn>& txns, Lsn confirmed, Lsn recovered) {
  for (const PublishedTxn& t : txns) {
    if (t.commit < confirmed && recovered < t.end) {
      return "the slot confirmed " + confirmed.ToString() + " but the transaction committed at " +
             t.commit.ToString() + " (end " + t.end.ToString() + ") is past the recovered checkpoint " +
             recovered.ToString() + ": the server will never send it again";
    }
  }
  return "";
}

Lsn SlotConfirmed(const std::string& db, const std::string& set) {
  pg::Result r = test::ConnectSource(db).Exec(
      "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
      {pg::Param("walferry_" + set)});
  return r.rows() == 1 ? Lsn::Parse(r.Get(0, 0)) : Lsn{};
}

// One immediate stop of the target and what it did.
struct Crash {
  bool restarted = false;  // refused connections after the stop, answered with a new start time after the start
  bool mid_apply = false;  // walferry's apply session was between BEGIN and COMMIT of a group
  bool lost_commit = false;  // the checkpoint recovered is behind the one committed when the server went down
  Lsn before, recovered, confirmed;
  std::string lost_for_good;  // a published transaction the slot confirmed that the target lost ("" = none)
};

// Stops the target with `-m immediate`, aimed at a moment when walferry's last group commit is not yet written
// out: the target runs its WAL writer every 10 s (RunChaos), walferry commits its groups with synchronous_commit
// off and only its once-a-second status write (synchronous_commit local) writes the WAL out. So: wait for walferry
// to stream, wait for a group to commit (the checkpoint row moves), stall the target proxy (nothing more reaches
// the target), and crash now if no group is open and the target's WAL insert position is past its write position
// (what is not written is lost by an immediate stop; fsync does not matter, the OS does not crash), else resume
// and try again (for at most 30 s, then crash anyway). After the outage: whether a commit was lost (recovered
// checkpoint behind the one before), and the durability rule (LostForGood) against the slot's confirmed position
// read while the target was down.
Crash CrashTarget(const CdcFixture& f, test::TcpProxy& target_proxy, const std::string& witness,
                  milliseconds outage) {
  Crash c;
  WhenStreaming(f);  // bounded; when walferry is not streaming the stop still happens, it only loses nothing
  const std::string started_before = StartTime(test::Target(), f.db);
  {
    pg::Connection t = test::ConnectTarget(f.db);
    const auto give_up = Clock::now() + seconds(30);
    for (;;) {
      Lsn seen = CheckpointOf(t, f.set);
      bool committed = test::PollUntil([&] { return CheckpointOf(t, f.set) != seen; }, seconds(5), milliseconds(2));
      target_proxy.Stall();
      c.before = CheckpointOf(t, f.set);
      c.mid_apply = ApplyMidGroup(t, f.set);
      // Outside a group (the unwritten WAL then ends with the last group's commit record, not an open group's).
      if (Clock::now() > give_up ||
          (committed && !c.mid_apply &&
           t.Exec("SELECT pg_current_wal_insert_lsn() > pg_current_wal_lsn()").GetBool(0, 0))) {
        break;
      }
      target_proxy.Resume();
    }
  }
  test::Target().Stop(true);
  const bool down = StartTime(test::Target(), f.db).empty();
  target_proxy.Cut();  // what the stall held back is dropped with the server
  try {
    c.confirmed = SlotConfirmed(f.db, f.set);
  } catch (const Error&) {
  }
  std::this_thread::sleep_for(outage);
  test::Target().StartOnSamePort();
  const std::string started_after = StartTime(test::Target(), f.db);
  c.restarted = down && !started_after.empty() && started_after != started_before;
  pg::Connection t = test::ConnectTarget(f.db);
  c.recovered = CheckpointOf(t, f.set);
  c.lost_commit = c.recovered < c.before;
  pg::Connection s = test::ConnectSource(f.db);
  c.lost_for_good = LostForGood(Published(s, witness, "walferry_" + f.set), c.confirmed, c.recovered);
  return c;
}

enum class Fault { kKill, kTargetStop, kTargetLongStop, kSourceRestart, kCutSource, kCutTarget, kStallSource,
                   kStallTarget };

// How many of each fault one chaos run injects, and under which cdc.error_policy.
struct ChaosPlan {
  std::string set;  // the set's name (each test its own: slots are per cluster)
  int kills = 0;
  int target_stops = 0;  // short ones (2-8 s), plus the long one when long_target_outage
  bool long_target_outage = false;
  int source_restarts = 0;
  int cuts = 0;  // per proxy
  bool stalls = false;  // one half-open stall per proxy
  // The least of each fault that must really have happened, or the test fails (faults that stop landing prove
  // nothing): kills that found the apply session inside a group, target crashes that lost a commit, cuts that
  // closed connections (per proxy). Kills, restarts and stalls must all land (kills: all but 4).
  int min_mid_group_kills = 0;
  int min_lost_commits = 0;
  int min_cuts = 0;
  std::string policy = "stop";
  // When set, the configuration is switched to this policy halfway through (walferry picks it up when it is
  // restarted next, as after an operator's edit).
  std::string policy_after_half;
};

void RunChaos(const ChaosPlan& plan) {
  const uint32_t seed = Seed();
  std::cout << "chaos seed " << seed << " (replay with WALFERRY_CHAOS_SEED=" << seed << ")" << std::endl;
  std::mt19937 rng(seed);
  auto between = [&](int lo_ms, int hi_ms) { return milliseconds(lo_ms + rng() % (hi_ms - lo_ms + 1)); };
  const auto started = Clock::now();
  const std::time_t wall = std::time(nullptr);
  std::cout << "chaos started at " << std::put_time(std::localtime(&wall), "%H:%M:%S") << " (walferry's log time)"
            << std::endl;

  CdcFixture f = CdcFixture::Create(plan.set, kSchema, kSetTables);
  // The configuration moves under this run's own TMPDIR: /tmp/walferry-<db>.yaml is shared by every run of this
  // test on the machine (same database names), and another run rewriting it would point walferry at its proxies.
  const std::string own_config = (std::filesystem::temp_directory_path() / ("walferry-" + f.db + ".yaml")).string();
  std::filesystem::rename(f.config_path, own_config);
  f.config_path = own_config;
  f.AppendConfig("cdc:\n  error_policy: " + plan.policy + "\n");
  if (const char* mode = std::getenv("WALFERRY_CHAOS_APPLY"); mode && std::string(mode) == "batch") {
    // The same faults with batch apply (docs/cdc.md "Batch apply"): every table of the set in apply: batch.
    std::ifstream in(f.config_path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    text.replace(text.find("apply: transactional"), 20, "apply: batch");
    std::ofstream(f.config_path, std::ios::trunc) << text;
    std::cout << "chaos with batch apply (WALFERRY_CHAOS_APPLY=batch)" << std::endl;
  }
  // walferry commits its groups with synchronous_commit off; with the target's WAL writer slowed down, a group
  // commit stays unwritten until walferry's next status write (CrashTarget aims there).
  test::Target().Psql("postgres", "ALTER SYSTEM SET wal_writer_delay = '10s'; SELECT pg_reload_conf()");
  struct ResetWalWriter {
    ~ResetWalWriter() {
      try {
        test::Target().Psql("postgres", "ALTER SYSTEM RESET wal_writer_delay; SELECT pg_reload_conf()");
      } catch (const Error&) {
      }
    }
  } reset_wal_writer;
  // The witness: a second slot on the same publication that nobody consumes. Peeking it at the end lists every
  // published transaction, independently of walferry.
  const std::string witness = "walferry_" + plan.set + "_witness";
  test::Source().Psql(f.db, "SELECT pg_create_logical_replication_slot('" + witness + "', 'pgoutput')");
  test::TcpProxy source_proxy(test::Source().port());
  test::TcpProxy target_proxy(test::Target().port());
  PointConfigAtProxies(f, source_proxy, target_proxy);
  const std::string log = (std::filesystem::temp_directory_path() / ("walferry-" + f.db + ".log")).string();
  std::cout << "walferry log: " << log << std::endl;

  std::vector<Fault> faults;
  faults.insert(faults.end(), plan.kills, Fault::kKill);
  faults.insert(faults.end(), plan.target_stops, Fault::kTargetStop);
  if (plan.long_target_outage) faults.push_back(Fault::kTargetLongStop);
  faults.insert(faults.end(), plan.source_restarts, Fault::kSourceRestart);
  faults.insert(faults.end(), plan.cuts, Fault::kCutSource);
  faults.insert(faults.end(), plan.cuts, Fault::kCutTarget);
  if (plan.stalls) {
    faults.push_back(Fault::kStallSource);
    faults.push_back(Fault::kStallTarget);
  }
  std::shuffle(faults.begin(), faults.end(), rng);

  ChaosWriter writer(f.db, seed + 1);
  Supervisor walferry({"-c", f.config_path, "cdc"}, log, started);
  // Each fault is counted only when it happened (see the file's header).
  int kills = 0, mid_group_kills = 0, target_restarts = 0, lost_commits = 0, mid_group_crashes = 0,
      source_restarts = 0, source_cuts = 0, target_cuts = 0, stalls = 0;
  std::vector<std::string> lost_for_good;
  for (size_t i = 0; i < faults.size(); ++i) {
    const Fault fault = faults[i];
    if (i == faults.size() / 2 && !plan.policy_after_half.empty()) {
      std::ifstream in(f.config_path);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      text.replace(text.find("error_policy: " + plan.policy), ("error_policy: " + plan.policy).size(),
                   "error_policy: " + plan.policy_after_half);
      std::ofstream(f.config_path, std::ios::trunc) << text;
      std::cout << "error_policy is now " << plan.policy_after_half << std::endl;
    }
    std::this_thread::sleep_for(between(500, 3000));  // a random moment between faults, not a wait
    static const char* kNames[] = {"kill", "target stop", "long target stop", "source restart", "source cut",
                                   "target cut", "source stall", "target stall"};
    std::cout << "+" << std::chrono::duration_cast<milliseconds>(Clock::now() - started).count() / 1000.0 << " s "
              << kNames[static_cast<int>(fault)] << ": " << std::flush;  // to match against walferry's log
    switch (fault) {
      case Fault::kKill: {
        std::this_thread::sleep_for(between(300, 3000));  // a random point in walferry's life
        // The target proxy stalls first, so the apply session's state stays the one the kill found; what walferry
        // sent after that is dropped with the connections (Cut), as if it had died a moment earlier.
        std::optional<pg::Connection> t;
        try {
          t.emplace(test::ConnectTarget(f.db));
        } catch (const Error&) {
        }
        // Two kills in three (drawn from the seed) are aimed: a group is open for milliseconds at a time, so the
        // source stream is held back for a second (a backlog makes the next groups large, and walferry reads a
        // large group's results before it sends the COMMIT), then the kill waits (at most 5 s) until the apply
        // session is seen inside a group. That is not yet a kill inside a group (a group sent whole, COMMIT
        // included, commits anyway): the look after the kill decides, as for every kill.
        if (rng() % 3 != 0 && t) {
          source_proxy.Stall();
          std::this_thread::sleep_for(seconds(1));
          source_proxy.Resume();
          test::PollUntil(
              [&] {
                try {
                  return ApplyMidGroup(*t, f.set);
                } catch (const Error&) {
                  return false;
                }
              },
              seconds(5), milliseconds(0));
        }
        target_proxy.Stall();
        bool killed = walferry.Kill();
        bool mid_group = false;
        std::optional<int64_t> backend;
        Lsn checkpoint;
        if (killed && t) {
          try {
            if (ApplyMidGroup(*t, f.set)) {
              backend = t->Exec("SELECT pid FROM pg_stat_activity WHERE application_name = $1 "
                                "ORDER BY backend_start DESC LIMIT 1",
                                {pg::Param("walferry_apply_" + f.set)})
                            .GetInt(0, 0);
              checkpoint = CheckpointOf(*t, f.set);
            }
          } catch (const Error&) {
          }
        }
        if (killed) {
          target_proxy.Cut();
        } else {
          target_proxy.Resume();
        }
        if (backend) {
          // Inside a group only if that group never committed: once its backend is gone (it ends at the cut), the
          // checkpoint has not moved. A backend still executing a group whose COMMIT had reached it commits it.
          try {
            bool gone = test::PollUntil(
                [&] {
                  return t->Exec("SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                                 {pg::Param(std::to_string(*backend))})
                             .GetInt(0, 0) == 0;
                },
                seconds(10), milliseconds(5));
            mid_group = gone && CheckpointOf(*t, f.set) == checkpoint;
          } catch (const Error&) {
          }
        }
        kills += killed ? 1 : 0;
        mid_group_kills += mid_group ? 1 : 0;
        std::cout << (!killed ? "walferry was not running" : mid_group ? "killed inside a group" : "killed")
                  << std::endl;
        break;
      }
      case Fault::kTargetStop:
      case Fault::kTargetLongStop: {
        Crash c = CrashTarget(f, target_proxy, witness,
                              fault == Fault::kTargetLongStop ? milliseconds(kLongTargetOutage) : between(2000, 8000));
        target_restarts += c.restarted ? 1 : 0;
        lost_commits += c.restarted && c.lost_commit ? 1 : 0;
        mid_group_crashes += c.restarted && c.mid_apply ? 1 : 0;
        if (!c.lost_for_good.empty()) lost_for_good.push_back(c.lost_for_good);
        std::cout << (c.restarted ? "restarted" : "NOT restarted") << (c.mid_apply ? ", inside a group" : "")
                  << "; checkpoint " << c.before.ToString() << " before, " << c.recovered.ToString() << " after"
                  << (c.lost_commit ? " (a commit lost)" : "") << "; slot confirmed " << c.confirmed.ToString()
                  << std::endl;
        break;
      }
      case Fault::kSourceRestart: {
        const std::string before = StartTime(test::Source(), f.db);
        test::Source().Stop(true);
        const bool down = StartTime(test::Source(), f.db).empty();
        std::this_thread::sleep_for(between(500, 3000));
        test::Source().StartOnSamePort();
        const std::string after = StartTime(test::Source(), f.db);
        const bool restarted = down && !after.empty() && after != before;
        source_restarts += restarted ? 1 : 0;
        std::cout << (restarted ? "restarted" : "NOT restarted") << std::endl;
        break;
      }
      case Fault::kCutSource:
      case Fault::kCutTarget: {
        // Aimed at a moment when walferry has connections through the proxy (it may be restarting or waiting to
        // retry): at most 15 s. Whether the cut closed any is what counts.
        test::TcpProxy& proxy = fault == Fault::kCutSource ? source_proxy : target_proxy;
        test::PollUntil([&] { return proxy.open() > 0; }, seconds(15), milliseconds(20));
        int closed = proxy.Cut();
        (fault == Fault::kCutSource ? source_cuts : target_cuts) += closed > 0 ? 1 : 0;
        std::cout << closed << " connections closed" << std::endl;
        break;
      }
      case Fault::kStallSource: {
        // Stalled while walferry streams (else the stall would catch no connection of its); progress past what
        // the source had when the stall began can only come through a new connection.
        EXPECT_TRUE(WhenStreaming(f)) << "walferry was not streaming before the source stall";
        int64_t source_at_stall = MaxTick(test::Source(), f.db);
        int stalled = source_proxy.Stall();
        bool noticed = test::PollUntil([&] { return MaxTick(test::Target(), f.db) > source_at_stall; }, kStallLimit);
        EXPECT_TRUE(noticed) << "walferry did not leave the stalled (half-open) source connection within "
                             << kStallLimit.count() << " s: nothing applied past tick " << source_at_stall
                             << " until the proxy resumed";
        source_proxy.Resume();
        stalls += stalled > 0 && noticed ? 1 : 0;
        std::cout << stalled << " connections stalled" << (noticed ? ", left by walferry" : "") << std::endl;
        break;
      }
      case Fault::kStallTarget: {
        EXPECT_TRUE(WhenStreaming(f)) << "walferry was not streaming before the target stall";
        int accepted_at_stall = target_proxy.accepted();
        int64_t target_at_stall = MaxTick(test::Target(), f.db);
        int stalled = target_proxy.Stall();
        bool noticed = test::PollUntil(
            [&] { return target_proxy.accepted() > accepted_at_stall && MaxTick(test::Target(), f.db) > target_at_stall; },
            kStallLimit);
        EXPECT_TRUE(noticed) << "walferry did not leave the stalled (half-open) target connection within "
                             << kStallLimit.count() << " s: nothing applied past tick " << target_at_stall
                             << " until the proxy resumed";
        target_proxy.Resume();
        stalls += stalled > 0 && noticed ? 1 : 0;
        std::cout << stalled << " connections stalled" << (noticed ? ", left by walferry" : "") << std::endl;
        break;
      }
    }
  }
  writer.Stop();
  walferry.Stop();
  const int planned_target_stops = plan.target_stops + (plan.long_target_outage ? 1 : 0);
  std::cout << "faults done after " << std::chrono::duration_cast<seconds>(Clock::now() - started).count()
            << " s, as they happened: " << kills << "/" << plan.kills << " kills (" << mid_group_kills
            << " inside a group), " << target_restarts << "/" << planned_target_stops << " target crashes ("
            << lost_commits << " lost a commit, " << mid_group_crashes << " inside a group), " << source_restarts
            << "/" << plan.source_restarts << " source restarts, " << source_cuts << "/" << plan.cuts
            << " source cuts, " << target_cuts << "/" << plan.cuts << " target cuts, " << stalls << "/"
            << (plan.stalls ? 2 : 0) << " stalls; writer " << writer.committed() << " commits, " << writer.failed()
            << " reconnects; walferry " << walferry.Summary() << std::endl;
  // Every run of walferry ended by the test's SIGKILL: none exited by itself (FAILED, a crash, a sanitizer report).
  std::vector<std::string> unexpected = walferry.Unexpected();
  EXPECT_TRUE(unexpected.empty()) << unexpected.size() << " runs of walferry ended by themselves, the first: "
                                  << unexpected.front();
  // Each fault class happened, as often as the plan requires.
  EXPECT_GE(kills, plan.kills - 4) << "walferry was not running at too many of the chosen moments";
  EXPECT_GE(mid_group_kills, plan.min_mid_group_kills) << "too few kills landed between BEGIN and COMMIT of a group";
  EXPECT_EQ(target_restarts, planned_target_stops) << "target stops that did not stop and start the server";
  EXPECT_GE(lost_commits, plan.min_lost_commits) << "too few target crashes lost a commit: the durability rule "
                                                    "was not exercised";
  EXPECT_EQ(source_restarts, plan.source_restarts) << "source stops that did not stop and start the server";
  EXPECT_GE(source_cuts, plan.min_cuts) << "too few source proxy cuts closed a connection";
  EXPECT_GE(target_cuts, plan.min_cuts) << "too few target proxy cuts closed a connection";
  EXPECT_EQ(stalls, plan.stalls ? 2 : 0) << "stalls that caught no connection or were not left";
  // The durability rule held at every crash.
  EXPECT_TRUE(lost_for_good.empty()) << lost_for_good.size() << " crashes lost confirmed transactions, the first: "
                                      << lost_for_good.front();
  EXPECT_GT(writer.committed(), 500);

  // Catch up through the (now healthy) proxies, bounded: a hang is a failure, not a stuck suite.
  pid_t last = test::SpawnWalferry({"-c", f.config_path, "cdc", "--until-caught-up"}, false, log);
  int status = -1;
  bool ended = test::PollUntil([&] { return waitpid(last, &status, WNOHANG) == last; }, seconds(240));
  if (!ended) {
    kill(last, SIGKILL);
    waitpid(last, &status, 0);
  }
  EXPECT_TRUE(ended) << "walferry cdc --until-caught-up did not finish within 240 s";
  EXPECT_TRUE(ended && WIFEXITED(status) && WEXITSTATUS(status) == 0) << "walferry cdc --until-caught-up: status " << status;

  pg::Connection s = test::ConnectSource(f.db);
  pg::Connection t = test::ConnectTarget(f.db);
  for (const char* table : {"public.pk_t", "public.idx_t", "public.full_t", "public.parted", "public.parted_1",
                            "public.parted_2", "public.parted_3", "ONLY public.parent", "public.child",
                            "public.tick"}) {
    std::string count = std::string("SELECT count(*) FROM ") + table;
    EXPECT_EQ(t.Exec(count).GetInt(0, 0), s.Exec(count).GetInt(0, 0)) << "row count of " << table;
    EXPECT_EQ(test::DiffTable(s, t, table), "") << table;
  }
  // No key twice on the target (the keys are the tables' own; parted's ids are unique across partitions).
  for (const auto& [table, key] : std::vector<std::pair<std::string, std::string>>{
           {"pk_t", "id"}, {"idx_t", "(a, b)"}, {"parted", "id"}, {"ONLY parent", "id"}, {"child", "id"},
           {"tick", "id"}, {"tick", "txn"}}) {
    pg::Result r = t.Exec("SELECT count(*), count(DISTINCT " + key + ") FROM " + table);
    EXPECT_EQ(r.GetInt(0, 0), r.GetInt(0, 1)) << table << " has a duplicate " << key << " on the target";
  }

  // The checkpoint is the end of the last published source transaction: a Commit message's row in the peek
  // carries its end LSN. The slot may have confirmed more: while idle walferry confirms a keepalive's WAL end,
  // and the WAL after the last published commit holds nothing for this publication (other databases, catalog
  // and checkpoint records) -- the witness proves there is no published transaction in between.
  pg::Result last_commit = s.Exec(
      "SELECT max(lsn)::text FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL, 'proto_version', '1', "
      "'publication_names', $2) WHERE get_byte(data, 0) = 67",  // 'C'
      {pg::Param(witness), pg::Param("walferry_" + plan.set)});
  pg::Result checkpoint =
      t.Exec("SELECT applied_lsn::text FROM walferry.checkpoint WHERE set_name = $1", {pg::Param(f.set)});
  pg::Result confirmed = s.Exec("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
                                {pg::Param("walferry_" + f.set)});
  ASSERT_EQ(checkpoint.rows(), 1);
  ASSERT_EQ(confirmed.rows(), 1);
  Lsn cp = Lsn::Parse(checkpoint.Get(0, 0));
  EXPECT_EQ(cp.ToString(), std::string(last_commit.Get(0, 0))) << "checkpoint vs the last published commit's end";
  EXPECT_GE(Lsn::Parse(confirmed.Get(0, 0)), cp) << "the slot confirmed " << confirmed.Get(0, 0)
                                                 << ", behind the checkpoint " << cp.ToString();
  std::string state =
      std::string(t.Exec("SELECT task_status FROM walferry.status WHERE task_name = $1", {pg::Param(f.set)}).Get(0, 0));
  EXPECT_NE(state, "FAILED");
  // Under every policy: the source made no change the target could reject, so nothing may be recorded as not
  // applied and no table suspended (a fault is retried, never charged to a change).
  EXPECT_EQ(t.Exec("SELECT count(*) FROM walferry.apply_exceptions").GetInt(0, 0), 0)
      << t.Exec("SELECT string_agg(e, E'\\n') FROM (SELECT count(*) || ' x ' || table_name || ': ' || left(error, 200) "
                "AS e FROM walferry.apply_exceptions GROUP BY table_name, left(error, 200) ORDER BY 1 LIMIT 10) x")
             .GetOpt(0, 0)
             .value_or("");
  if (t.Exec("SELECT to_regclass('walferry.suspended_tables') IS NOT NULL").GetBool(0, 0)) {
    EXPECT_EQ(t.Exec("SELECT count(*) FROM walferry.suspended_tables").GetInt(0, 0), 0);
  }
  std::cout << "chaos total " << std::chrono::duration_cast<seconds>(Clock::now() - started).count()
            << " s; checkpoint " << cp.ToString() << ", slot confirmed " << confirmed.Get(0, 0) << ", status "
            << state << std::endl;
  if (::testing::Test::HasFailure()) std::cout << "walferry log, errors and warnings:\n" << InterestingLog(log) << std::endl;

  s.Exec("SELECT pg_drop_replication_slot($1)", {pg::Param(witness)});
  f.DropSlot();
}

// The whole list of the issue: >= 20 kills, 6 target stops (one of 65 s), 3 source restarts, 6 cuts and a
// half-open stall per proxy, under the default policy; at least 3 kills inside a group, 3 crashes that lost a
// commit and 4 cuts per proxy that closed connections. About 5 minutes.
TEST(CdcChaos, EveryFaultInterleavedLosesAndDuplicatesNothing) {
  RunChaos({.set = "chaos",
            .kills = 24, .target_stops = 5, .long_target_outage = true, .source_restarts = 3, .cuts = 6,
            .stalls = true, .min_mid_group_kills = 3, .min_lost_commits = 3, .min_cuts = 4});
}

// The other two policies, shorter: log-and-continue, switched to suspend-table halfway. A fault must never be
// taken for a rejected change (skipped or suspending a table). At least 1 kill inside a group, 1 crash that lost
// a commit, 2 cuts per proxy that closed connections. About 1.5 minutes.
TEST(CdcChaos, FaultsUnderLogAndContinueThenSuspendTableSkipNothing) {
  RunChaos({.set = "chaos_policies",
            .kills = 10, .target_stops = 2, .source_restarts = 1, .cuts = 3, .min_mid_group_kills = 1,
            .min_lost_commits = 1, .min_cuts = 2, .policy = "log-and-continue", .policy_after_half = "suspend-table"});
}

}  // namespace
}  // namespace walferry
