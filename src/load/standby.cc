#include "load/standby.h"

#include <optional>

#include "common/cancel.h"
#include "common/error.h"
#include "common/log.h"
#include "pg/conninfo.h"
#include "pg/quote.h"
#include "pg/server_version.h"
#include "sql/sql.h"

namespace walferry::load {

namespace {

using Clock = std::chrono::steady_clock;
auto Log() { return log::For("load"); }

struct ServerFacts {
  bool in_recovery = false;
  std::string database;
  std::string role_name;
  bool can_pause = false;
  bool can_resume = false;
  std::string pause_state;                // empty outside recovery
  std::optional<std::string> system_id;   // nullopt: the role may not read pg_control_system()
};

ServerFacts ReadFacts(pg::Connection& conn) {
  pg::Result r = conn.Exec(sql::Get("load/standby_facts"));
  ServerFacts f;
  f.in_recovery = r.GetBool(0, 0);
  f.database = std::string(r.Get(0, 1));
  f.role_name = std::string(r.Get(0, 2));
  f.can_pause = r.GetBool(0, 3);
  f.can_resume = r.GetBool(0, 4);
  f.pause_state = r.GetOpt(0, 5).value_or("");
  f.system_id = r.GetOpt(0, 6);
  return f;
}

// pg_last_wal_replay_lsn(): the end of the last WAL record replayed (NULL before the first: 0/0).
Lsn ReplayLsn(pg::Connection& standby) {
  std::optional<std::string> lsn = standby.Exec("SELECT pg_catalog.pg_last_wal_replay_lsn()::text").GetOpt(0, 0);
  return lsn ? Lsn::Parse(*lsn) : Lsn();
}

pg::Connection OpenStandby(const std::string& conninfo) {
  return pg::Connection::Open(conninfo, {.role = "standby"});
}

void Sleep(std::chrono::milliseconds ms) { std::this_thread::sleep_for(ms); }

}  // namespace

void CheckStandby(const std::string& standby_conninfo, pg::Connection& source) {
  const std::string where = pg::RedactConninfo(standby_conninfo);
  WithContext("checking the standby " + where + " (--from-standby)", [&] {
    pg::Connection standby = OpenStandby(standby_conninfo);
    // Before the facts: their query names pg_get_wal_replay_pause_state(), which 12 and 13 do not have.
    if (const pg::ServerFeatures f = pg::FeaturesOf(standby.ServerVersionNum(), "standby");
        !f.wal_replay_pause_state) {
      throw Error(ErrorKind::kPrecondition, "--from-standby needs PostgreSQL 14 or later; the standby " + where +
                                                " runs " + std::to_string(f.major))
          .WithDetail("before 14, PostgreSQL says only that a replay pause was requested, not when replay has "
                      "paused, so walferry cannot know the position its copy reads at")
          .WithHint("leave out --from-standby to copy from the source");
    }
    ServerFacts s = ReadFacts(standby);
    ServerFacts p = ReadFacts(source);
    if (!s.in_recovery) {
      throw Error(ErrorKind::kPrecondition, "--from-standby " + where + " is not a standby: pg_is_in_recovery() is false")
          .WithHint("give the URI of a physical (streaming) standby of the source with hot_standby = on, or leave out "
                    "--from-standby to copy from the source");
    }
    if (s.system_id && p.system_id && *s.system_id != *p.system_id) {
      throw Error(ErrorKind::kPrecondition, "--from-standby " + where + " is a standby of another cluster (system "
                                                "identifier " + *s.system_id + ", the source's is " + *p.system_id + ")")
          .WithHint("give a physical standby that replicates from the source (e.g. made with pg_basebackup -R)");
    }
    if (!s.system_id || !p.system_id) {
      Log()->warn("cannot read pg_control_system() on the {}: not checked that the standby replicates from the source",
                  s.system_id ? "source" : "standby");
    }
    if (s.database != p.database) {
      throw Error(ErrorKind::kPrecondition, "--from-standby connects to database " + pg::QuoteIdent(s.database) +
                                                ", the source to " + pg::QuoteIdent(p.database))
          .WithHint("connect to the same database on the standby as on the source");
    }
    if (!s.can_pause || !s.can_resume) {
      throw Error(ErrorKind::kPrecondition, "standby role " + s.role_name + " may not pause and resume WAL replay")
          .WithHint("connect to the standby as a superuser, or run on the SOURCE (the grant replicates to the standby): "
                    "GRANT EXECUTE ON FUNCTION pg_catalog.pg_wal_replay_pause(), pg_catalog.pg_wal_replay_resume() TO " +
                    pg::QuoteIdent(s.role_name));
    }
    if (s.pause_state != "not paused") {
      throw Error(ErrorKind::kPrecondition, "WAL replay on the standby is already '" + s.pause_state + "'")
          .WithDetail("walferry resumes replay when its copy ends, so it does not take over a pause it did not make "
                      "(a walferry load killed with SIGKILL while copying also leaves the standby paused)")
          .WithHint("find out why it is paused; resume it with SELECT pg_catalog.pg_wal_replay_resume(); on the "
                    "standby, then run the load again");
    }
    Log()->info("standby {}: in recovery, replay not paused, role {} may pause it; the copy will read from it", where,
                s.role_name);
  });
}

PausedStandby::PausedStandby(const std::string& standby_conninfo, Lsn at_least, std::chrono::seconds catch_up_limit)
    : conninfo_(standby_conninfo) {
  ThrowIfCancelled("preparing to pause the standby");
  // Ctrl-C / SIGTERM must not end the process while replay is paused: the watcher resumes replay first.
  sigaction(SIGINT, nullptr, &old_int_);
  sigaction(SIGTERM, nullptr, &old_term_);
  InstallCancelHandlers();
  try {
    Pause(at_least, catch_up_limit);
  } catch (...) {
    ResumeReplay("pausing failed");
    RestoreSignals();
    throw;
  }
  watcher_ = std::jthread([this](std::stop_token stop) { WatchForCancel(stop); });
}

PausedStandby::~PausedStandby() {
  watcher_.request_stop();
  if (watcher_.joinable()) watcher_.join();
  snapshot_conn_ = pg::Connection();
  ResumeReplay("the load stopped before the copy ended");
  RestoreSignals();
}

void PausedStandby::Pause(Lsn at_least, std::chrono::seconds catch_up_limit) {
  const std::string where = pg::RedactConninfo(conninfo_);
  pg::Connection standby = OpenStandby(conninfo_);
  const auto deadline = Clock::now() + catch_up_limit;
  Lsn replayed = ReplayLsn(standby);
  if (replayed < at_least) {
    Log()->info("waiting for the standby to replay up to {} (the slots' consistent point); it is at {}",
                at_least.ToString(), replayed.ToString());
  }
  while (replayed < at_least) {
    ThrowIfCancelled("waiting for the standby to replay up to the slots' consistent point");
    if (Clock::now() > deadline) {
      throw Error(ErrorKind::kTimeout, "the standby replayed only up to " + replayed.ToString() + " after " +
                                           std::to_string(catch_up_limit.count()) + " s; the copy needs it at " +
                                           at_least.ToString() + " or later")
          .WithDetail("the copy must hold every transaction before where CDC starts, which is at or after the slots' "
                      "consistent point. Replay was not paused; the sets stay in state 'loading' with their slots")
          .WithHint("check the standby's replication (pg_stat_wal_receiver on the standby, pg_stat_replication on the "
                    "source), then run walferry load --resume --from-standby ...");
    }
    Sleep(std::chrono::milliseconds(100));
    replayed = ReplayLsn(standby);
  }
  {
    std::lock_guard lock(mu_);
    paused_ = true;  // before the call: if its answer is lost, replay may be paused all the same
  }
  standby.Exec("SELECT pg_catalog.pg_wal_replay_pause()");
  Log()->warn("paused WAL replay on the standby {} (pg_wal_replay_pause); walferry resumes it when the copy ends",
              where);
  const auto pause_deadline = Clock::now() + std::chrono::seconds(60);
  while (standby.Exec("SELECT pg_catalog.pg_get_wal_replay_pause_state()").Get(0, 0) != "paused") {
    if (Clock::now() > pause_deadline) {
      throw Error(ErrorKind::kTimeout, "WAL replay on the standby did not reach the state 'paused' within 60 s");
    }
    Sleep(std::chrono::milliseconds(10));
  }
  replay_lsn_ = ReplayLsn(standby);  // replay is paused: it stays here until resumed
  if (replay_lsn_ < at_least) {
    throw Error(ErrorKind::kInternal, "the paused standby's replay LSN " + replay_lsn_.ToString() +
                                          " is before the slots' consistent point " + at_least.ToString());
  }
  snapshot_conn_ = OpenStandby(conninfo_);
  snapshot_conn_.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  snapshot_ = std::string(snapshot_conn_.Exec("SELECT pg_catalog.pg_export_snapshot()").Get(0, 0));
  Log()->info("standby replay paused at {}: the copy reads from snapshot {} on the standby; CDC starts at {}",
              replay_lsn_.ToString(), snapshot_, replay_lsn_.ToString());
}

void PausedStandby::Resume() {
  watcher_.request_stop();
  if (watcher_.joinable()) watcher_.join();
  snapshot_conn_ = pg::Connection();  // ends the exported snapshot's transaction
  if (!ResumeReplay("the copy is done")) {
    throw Error(ErrorKind::kConnection, "could not resume WAL replay on the standby " + pg::RedactConninfo(conninfo_))
        .WithHint("the data is copied; run SELECT pg_catalog.pg_wal_replay_resume(); on the standby now");
  }
  RestoreSignals();
}

bool PausedStandby::ResumeReplay(const char* why) noexcept {
  std::lock_guard lock(mu_);
  if (!paused_) return true;
  const std::string where = pg::RedactConninfo(conninfo_);
  try {
    // A new connection: the pausing one may be gone, and this may run on the watcher thread.
    pg::Connection standby = OpenStandby(conninfo_);
    standby.Exec("SELECT pg_catalog.pg_wal_replay_resume()");
    paused_ = false;
    Log()->info("resumed WAL replay on the standby {} ({})", where, why);
    return true;
  } catch (const std::exception& e) {
    Log()->error("could not resume WAL replay on the standby {} ({}): {}. Replay stays PAUSED: run SELECT "
                 "pg_catalog.pg_wal_replay_resume(); on the standby",
                 where, why, e.what());
    return false;
  }
}

void PausedStandby::RestoreSignals() noexcept {
  std::lock_guard lock(mu_);
  if (signals_restored_) return;
  signals_restored_ = true;
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
}

void PausedStandby::WatchForCancel(std::stop_token stop) {
  while (!stop.stop_requested()) {
    if (CancelRequested()) {
      Log()->warn("interrupted (Ctrl-C / SIGTERM) during the copy from the standby: resuming its WAL replay, then "
                  "exiting; finish the load with walferry load --resume --from-standby ...");
      ResumeReplay("the load was interrupted");
      RestoreSignals();
      // End the process as an interrupted load always ends (the copies' target transactions roll back), unless the
      // caller had its own handlers (then it checks the cancel flag itself).
      if (old_int_.sa_handler == SIG_DFL) raise(SIGINT);
      return;
    }
    Sleep(std::chrono::milliseconds(50));
  }
}

}  // namespace walferry::load
