// load/standby.h
//
// `walferry load --from-standby URI`: the copy reads from a physical (streaming) standby of the source, so the
// primary only creates the publications and slots. The playbook's method, automated:
//   1. the sets' slots are created on the PRIMARY (no exported snapshot); C = the latest consistent point;
//   2. on the standby: wait until pg_last_wal_replay_lsn() >= C, pg_wal_replay_pause(), wait until
//      pg_get_wal_replay_pause_state() = 'paused', read R = pg_last_wal_replay_lsn();
//   3. R is every copied set's CDC start LSN; the copy reads from a snapshot exported on the standby
//      (pg_export_snapshot(), REPEATABLE READ READ ONLY), which holds exactly the transactions whose commit record
//      was replayed, i.e. starts before R;
//   4. replay is resumed (pg_wal_replay_resume()) when the copy ends: on success, on an error (destructor) and on
//      Ctrl-C / SIGTERM (a watcher thread resumes replay, then lets the signal end the process as it always did).
// Why R is exact for CDC: R is the END of the last replayed record, and WAL records are contiguous, so a commit
// record that starts before R has been replayed (visible in the copy) and one that starts at or after R has not.
// CDC skips a transaction when its commit LSN (pgoutput Begin.final_lsn, the START of the commit record) is below
// the set's start_lsn (docs/design/resume.md): exactly the ones in the copy. R >= C, so the slot streams every
// transaction that commits at or after R.
// A walferry killed with SIGKILL cannot resume replay: the standby then stays paused (the next load refuses until
// someone runs SELECT pg_wal_replay_resume() on it).
// Not thread-safe: one PausedStandby per load.
#pragma once

#include <signal.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include "common/lsn.h"
#include "pg/connection.h"

namespace walferry::load {

// Read-only checks on both servers, before the load changes anything. Throws Error(kPrecondition) naming the fix
// when the standby is not in recovery, is a standby of another cluster, is connected to another database than the
// source, its role may not run pg_wal_replay_pause()/pg_wal_replay_resume(), or its replay is paused already.
void CheckStandby(const std::string& standby_conninfo, pg::Connection& source);

class PausedStandby {
 public:
  // Waits (polling, up to `catch_up_limit`) until the standby replayed at least `at_least`, pauses replay, waits
  // until it is paused, reads the replay LSN and exports a snapshot on the standby. Throws Error(kTimeout) when the
  // standby does not catch up in time (nothing paused then), or the error of the step that failed (replay is
  // resumed again before the throw).
  PausedStandby(const std::string& standby_conninfo, Lsn at_least, std::chrono::seconds catch_up_limit);
  // Resumes replay if still paused; never throws (a failure is logged as an error with the command to run).
  ~PausedStandby();
  PausedStandby(const PausedStandby&) = delete;
  PausedStandby& operator=(const PausedStandby&) = delete;

  // The standby's replay LSN while paused: the CDC start of the copied sets.
  Lsn replay_lsn() const { return replay_lsn_; }
  // Exported on the standby; importable by other sessions on the standby until Resume().
  const std::string& snapshot() const { return snapshot_; }
  // Ends the snapshot and resumes replay. Throws on failure (replay may then still be paused; the message says so).
  void Resume();

 private:
  void Pause(Lsn at_least, std::chrono::seconds catch_up_limit);
  // Resumes replay on a new connection (callable from the watcher thread); idempotent; returns false on failure.
  bool ResumeReplay(const char* why) noexcept;
  void RestoreSignals() noexcept;
  void WatchForCancel(std::stop_token stop);

  std::string conninfo_;
  pg::Connection snapshot_conn_;  // holds the transaction that exported snapshot_
  Lsn replay_lsn_;
  std::string snapshot_;
  std::mutex mu_;                 // guards paused_ and signals_restored_ (main thread vs watcher)
  bool paused_ = false;
  // SIGINT/SIGTERM actions before the constructor installed walferry's cancel handlers; restored on destruction.
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
  bool signals_restored_ = false;  // guarded by mu_
  std::jthread watcher_;
};

}  // namespace walferry::load
