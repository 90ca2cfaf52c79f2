#include "lifecycle/cutover.h"

#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <thread>

#include "catalog/catalog.h"
#include "catalog/sequence_values.h"
#include "cdc/run_sets.h"
#include "cdc/stop_position.h"
#include "common/error.h"
#include "common/log.h"
#include "control/control_schema.h"
#include "control/cutover_lock.h"
#include "control/cutover_row.h"
#include "control/set_status.h"
#include "control/truncate_capture.h"
#include "lifecycle/block_connections.h"
#include "lifecycle/cleanup.h"
#include "lifecycle/cutover_rerun.h"
#include "lifecycle/fallback.h"
#include "lifecycle/freeze_check.h"
#include "lifecycle/slot_peek.h"
#include "lifecycle/target_hold.h"
#include "load/large_objects.h"
#include "pg/connection.h"
#include "sql/sql.h"
#include "validate/validator.h"

namespace walferry::lifecycle {
namespace {

std::shared_ptr<spdlog::logger> Log() { return log::For("cutover"); }

// The steps in order; the cutover row holds the last one completed.
const std::vector<std::string> kSteps = {"stopping_writes", "writes_stopped", "caught_up",      "sequences",
                                         "large_objects",   "validated",      "target_ready",   "fallback_ready",
                                         "done"};

int StepIndex(const std::string& step) {
  auto it = std::find(kSteps.begin(), kSteps.end(), step);
  return it == kSteps.end() ? -1 : static_cast<int>(it - kSteps.begin());
}

// For the fault tests (docs/testing.md): WALFERRY_CUTOVER_KILL_AFTER=<step> ends the process with SIGKILL right
// after that step is recorded, as a crash there would; WALFERRY_CUTOVER_HOLD_AFTER=<step> holds it there while the
// file WALFERRY_CUTOVER_HOLD_FILE exists (a cutover caught in the middle, for the tests of what runs beside it).
void KillPointAfter(const std::string& step) {
  const char* at = std::getenv("WALFERRY_CUTOVER_KILL_AFTER");
  if (at && step == at) kill(getpid(), SIGKILL);
  const char* hold = std::getenv("WALFERRY_CUTOVER_HOLD_AFTER");
  const char* file = std::getenv("WALFERRY_CUTOVER_HOLD_FILE");
  while (hold && file && step == hold && access(file, F_OK) == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

struct Row {
  std::string step;
  std::string source_database;
  std::optional<Lsn> final_lsn;
};

class Cutter {
 public:
  Cutter(const CutoverOptions& o, const std::atomic<bool>& stop)
      : o_(o), names_(o_.names), stop_(stop), sets_(config::SetNames(o.config)),
        target_(pg::Connection::Open(o.config.target, {.role = o.names.target, .application_name = "walferry cutover"})),
        source_(pg::Connection::Open(o.config.source, {.role = o.names.source, .application_name = "walferry cutover"})),
        control_(target_, o.config.control_schema) {
    // One of cutover, abort, restart, reset, switch back at a time, on the migration's target (for the switch back:
    // the database it switches away from), held by this session until the process ends (control/cutover_lock.h).
    control::TakeMigrationLock(o.make_target_writable ? source_ : target_, names_.command);
    // A rerun finds the source database read-only for new sessions; this session only changes that setting, ends
    // sessions and installs walferry's partition TRUNCATE triggers (InstallCaptureTriggers), never data.
    source_.Exec("SET default_transaction_read_only = off");
  }

  // Every error after the source became read-only says so, and how to go on.
  CutoverReport Run() {
    try {
      return RunSteps();
    } catch (Error& caught) {
      if (!read_only_) throw;
      // Exit 2 says "nothing changed" (docs/cli.md): after the freeze a precondition is a runtime failure (exit 1).
      Error e = ExitCodeFor(caught) == kExitUsage ? AfterTheFreeze(caught) : caught;
      if (e.detail().find("READ-ONLY") == std::string::npos) {
        e.WithDetail((e.detail().empty() ? "" : e.detail() + "; ") + "the " + names_.source + " database " +
                     report_.source_database + " is READ-ONLY for new sessions");
        if (e.hint().empty()) {
          e.WithHint("run " + names_.command + " again to continue where it stopped, or " + names_.command +
                     " --abort to make the " + names_.source + " writable again");
        }
      }
      throw e;
    }
  }

 private:
  CutoverReport RunSteps() {
    // Before anything is created: a cutover before any load changes nothing, the control schema included.
    if (!control_.Exists()) {
      Refuse("the " + names_.target + " has no control schema", "load the sets first (walferry load)");
    }
    control_.Ensure();
    report_.source_database = std::string(source_.Exec("SELECT current_database()").Get(0, 0));
    std::optional<Row> row = ReadRow();
    if (row && ArchiveIfAnotherCutover(row->step)) row.reset();
    int done = -1;  // index of the last completed step
    if (row && row->step == "done") {
      report_.already_done = true;
      report_.final_lsn = row->final_lsn ? row->final_lsn->ToString() : "";
      report_.downtime_seconds = Downtime();
      return report_;
    }
    if (row && row->step != "aborted") {
      read_only_ = true;
      done = StepIndex(row->step);
      if (done < 0) throw Error(ErrorKind::kData, "the cutover row's step '" + row->step + "' is not known");
      if (row->final_lsn) final_lsn_ = *row->final_lsn;
      if (auto recorded = control::ReadCutoverRow(target_, o_.config.control_schema)) {
        ContinueAsRecorded(o_, *recorded);
      }
      Log()->info("continuing the cutover of database {} after step {}", row->source_database, row->step);
    } else {
      Preflight();
      CheckFreeze();  // before the catch-up, which can take long, and again after it (it did not change the source)
      CatchUpBeforeTheSwitch();
      CheckFreeze();
    }
    if (done < StepIndex("writes_stopped")) StopWrites();
    if (done < StepIndex("caught_up")) {
      // A partition created since the triggers were last installed gets its trigger through this read-write
      // session: the CDC workers' own sessions would try it on the read-only source and fail every rerun.
      InstallCaptureTriggers();
      CatchUp(final_lsn_);
      Record("caught_up");
    }
    if (done < StepIndex("sequences")) {
      Sequences();
      Record("sequences");
    }
    if (done < StepIndex("large_objects")) {
      LargeObjects();
      Record("large_objects");
    }
    if (done < StepIndex("validated")) {
      if (o_.validate) Validate();
      Record("validated");
    }
    if (done < StepIndex("target_ready")) {
      ProveFreezeHeld();  // before the application is told to use the target
      Analyze();
      if (o_.make_target_writable) MakeTargetWritable();
      Record("target_ready", ", ready_at = now()");
    }
    if (done < StepIndex("fallback_ready")) {
      // After the validation (whose repairs must not flow back) and before the application is told to switch.
      if (o_.fallback) report_.fallback = PrepareFallback(o_.config, target_, o_.timeout, &stop_);
      ReleaseTarget(target_, o_.config.control_schema);  // the slot exists: the application may write there now
      Record("fallback_ready");
    }
    ProveFreezeHeld();  // and again right before the slots, which hold the proof, are dropped
    if (!o_.keep_slots) {
      CleanupOptions c{o_.config.source, o_.config.target, o_.config.control_schema, o_.config.migration_id, sets_};
      c.server = names_.source;
      report_.dropped = Cleanup(c).dropped;
      KillPointAfter("cleanup");  // the slots are gone, `done` not recorded yet
    }
    for (const std::string& role : RestoreConnections(source_, target_, o_.config.control_schema)) {
      Log()->info("{} may connect to the {} database again (--block-connections)", role, names_.source);
    }
    Record("done", ", finished_at = now()");
    report_.final_lsn = final_lsn_.ToString();
    report_.downtime_seconds = Downtime();
    return report_;
  }

  std::string Control(const std::string& table) const { return control_.Table(table); }
  // The set's slot as its load recorded it (control::SlotName of the migration).
  std::string Slot(const std::string& set) { return control_.RecordedSlot(set).value_or("(none recorded)"); }
  std::string Publication(const std::string& set) {
    return control_.RecordedPublication(set).value_or("(none recorded)");
  }

  // A row this cutover does not continue goes to the history (control/cutover_row.h), and the switch starts from
  // the beginning: an aborted one; a `done` of another generation of the sets (loaded again since); one whose
  // source an abort made writable while the target was unreachable (AbortCutover). True when archived.
  bool ArchiveIfAnotherCutover(const std::string& step) {
    std::string why;
    if (step == "aborted") {
      why = "the earlier cutover was aborted";
    } else if (step == "done") {
      std::optional<control::CutoverRow> row = control::ReadCutoverRow(target_, o_.config.control_schema);
      std::string now = control::SetsGeneration(target_, o_.config.control_schema);
      if (!row || row->sets_generation.empty() || row->sets_generation == now) return false;
      why = "the earlier cutover switched sets that have been loaded again since";
    } else if (!DatabaseReadOnly(source_)) {
      why = "the " + names_.source + " database takes writes again: the earlier cutover was aborted (" +
            names_.command + " --abort) while the " + names_.target + " was unreachable";
    } else {
      return false;
    }
    control::ArchiveCutover(target_, o_.config.control_schema, names_.command);
    Log()->info("{}; its row is kept in {}; this cutover starts from the beginning", why, Control("cutover_history"));
    return true;
  }

  std::optional<Row> ReadRow() {
    pg::Result r = target_.Exec("SELECT step, source_database, final_lsn::text FROM " + Control("cutover"));
    if (r.rows() == 0) return std::nullopt;
    Row row{std::string(r.Get(0, 0)), std::string(r.Get(0, 1)), std::nullopt};
    if (auto lsn = r.GetOpt(0, 2)) row.final_lsn = Lsn::Parse(*lsn);
    return row;
  }

  void Record(const std::string& step, const std::string& extra = "") {
    target_.Exec("UPDATE " + Control("cutover") + " SET step = $1" + extra, {pg::Param(step)});
    Log()->info("cutover step done: {}", step);
    KillPointAfter(step);
  }

  double Downtime() {
    pg::Result r = target_.Exec("SELECT extract(epoch FROM ready_at - writes_stopped_at)::float8 FROM " +
                                Control("cutover") + " WHERE ready_at IS NOT NULL AND writes_stopped_at IS NOT NULL");
    return r.rows() == 1 && !r.IsNull(0, 0) ? std::stod(std::string(r.Get(0, 0))) : 0;
  }

  [[noreturn]] void Refuse(const std::string& what, const std::string& hint) {
    throw Error(ErrorKind::kPrecondition, what)
        .WithDetail("nothing was changed: the " + names_.source + " is writable as before")
        .WithHint(hint);
  }

  // A kPrecondition/kConfig/kUsage error raised after the freeze: the same error as a runtime failure.
  static Error AfterTheFreeze(const Error& e) {
    Error out(ErrorKind::kData, e.message());
    if (!e.sqlstate().empty()) out.WithSqlState(e.sqlstate());
    if (!e.detail().empty()) out.WithDetail(e.detail());
    if (!e.hint().empty()) out.WithHint(e.hint());
    for (auto it = e.context().rbegin(); it != e.context().rend(); ++it) out.AddContext(*it);
    return out;
  }

  // Everything that would fail, or let writes through, once the source is read-only: found while nothing has
  // changed yet (lifecycle/freeze_check.h).
  void CheckFreeze() {
    CheckFreezePrivileges(source_, {.terminate_sessions = o_.terminate_sessions && !o_.writes_stopped,
                                    .see_sessions = !o_.writes_stopped},
                          names_.source);
    std::vector<FreezeLeak> leaks = FindFreezeLeaks(source_);
    RefuseUnconsentedLeaks(leaks, o_.allow_writers, names_.source, names_.command);
    for (const FreezeLeak& l : leaks) {
      Log()->warn("--allow-writers {}: {} (a write that gets through fails the cutover before the slots are "
                  "dropped)",
                  l.consent, l.what);
    }
    std::string missing = SequencesMissingOnTarget(SequenceNames());
    if (!missing.empty()) {
      Refuse("sequences used by the sets are missing on the " + names_.target + ": " + missing,
             "create them there (as the " + names_.source + " has them), then run " + names_.command + " again");
    }
    InstallCaptureTriggers();
  }

  // The partition TRUNCATE triggers (control/truncate_capture.h) on every leaf partition of every set, through
  // this session, which stays read-write after the freeze.
  void InstallCaptureTriggers() {
    for (const std::string& set : sets_) {
      WithContext("set " + set, [&] {
        control::InstallTruncateCapture(source_, o_.config.control_schema, Publication(set));
      });
    }
  }

  // Reads every set's slot past the final position without consuming it: a transaction of the sets that
  // committed there got through the freeze and is not on the target (lifecycle/slot_peek.h).
  void ProveFreezeHeld() {
    std::string found;
    int n = 0;
    for (const std::string& set : sets_) {
      if (!control::ReadSlot(source_, Slot(set))) {
        // Dropped by an earlier run's cleanup, which came after this check (a crash before `done` was recorded).
        Log()->info("set {}: slot {} is gone already (dropped after an earlier run checked it)", set, Slot(set));
        continue;
      }
      for (const EscapedTransaction& t : CommittedAfter(source_, Slot(set), Publication(set), final_lsn_)) {
        if (++n <= 20) found += "\n  - set " + set + ": " + Describe(t);
      }
    }
    if (n == 0) {
      Log()->info("the slots hold no transaction of the sets committed after the final position {}: the freeze "
                  "held",
                  final_lsn_.ToString());
      return;
    }
    throw Error(ErrorKind::kData, std::to_string(n) + " transactions of the sets committed after the final position " +
                                      final_lsn_.ToString() + " on the " + names_.source +
                                      " (they are not on the " + names_.target + "):" + found)
        .WithDetail("the " + names_.source + " database " + report_.source_database +
                    " stays READ-ONLY; the slots are kept, they hold these transactions")
        .WithHint("find what wrote them (a role setting, SET default_transaction_read_only = off, BEGIN READ "
                  "WRITE, options=-c ...) and stop it; then " + names_.command + " --abort, let walferry cdc carry "
                  "them, and cut over again");
  }

  // The switch back (fallback --switch-back): the old source takes writes again, for every session.
  void MakeTargetWritable() {
    std::string db(target_.Exec("SELECT current_database()").Get(0, 0));
    target_.Exec("ALTER DATABASE " + pg::QuoteIdent(db) + " RESET default_transaction_read_only");
    Log()->info("the {} database {} takes writes again (new sessions)", names_.target, db);
  }

  void Preflight() {
    if (!control_.Exists()) {
      Refuse("the " + names_.target + " has no control schema", "load the sets first (walferry load)");
    }
    if (o_.fallback) CheckFallbackPossible(o_.config, target_, source_);
    std::vector<control::SetStatusRow> statuses = control::ReadSetStatuses(target_, o_.config.control_schema, source_);
    bool has_suspended = target_
                             .Exec(sql::Get("control/table_exists"),
                                   {pg::Param(o_.config.control_schema), pg::Param("suspended_tables")})
                             .GetBool(0, 0);
    for (const std::string& set : sets_) {
      auto row = control_.GetSet(set);
      if (!row || row->load_state != control::LoadState::kLoaded) {
        Refuse("set " + set + " is not loaded (" + (row ? control::ToString(row->load_state) : "never loaded") + ")",
               "finish walferry load for it first");
      }
      std::optional<control::SlotFacts> slot = control::ReadSlot(source_, Slot(set));
      if (!slot) {
        Refuse("set " + set + ": its slot " + Slot(set) + " is missing on the " + names_.source,
               "the set cannot be caught up without it: load the set again");
      }
      if (slot->active) {
        // Streamed by walferry cdc/migrate elsewhere: that worker is told the final position through the control
        // schema and stops there. Only a reader that keeps the set's status current is such a worker.
        bool reported = false;
        for (const auto& s : statuses) reported = reported || (s.set_name == set && s.running);
        if (!reported) {
          Refuse("set " + set + ": its slot " + Slot(set) +
                     " is being read by a process that does not keep the set's status current",
                 "stop that process; walferry cdc and migrate may run during the cutover, other readers may not");
        }
      }
      for (const auto& s : statuses) {
        if (s.set_name == set && s.state == control::TaskState::kFailed) {
          Refuse("set " + set + " is FAILED: " + s.last_error.value_or(""),
                 "fix the cause and run walferry cdc until the set is healthy, then cut over");
        }
      }
      if (has_suspended && !o_.allow_suspended) {
        pg::Result su = target_.Exec(control::WithSchema(sql::Get("cdc/list_suspended"), o_.config.control_schema),
                                     {pg::Param(set)});
        if (su.rows() > 0) {
          Refuse("set " + set + " has " + std::to_string(su.rows()) + " suspended tables (first: " +
                     std::string(su.Get(0, 0)) + "." + std::string(su.Get(0, 1)) + ")",
                 "reload them and lift the suspension (docs/cdc.md), or pass --allow-suspended to switch with "
                 "them as they are");
        }
      }
    }
  }

  // While the application still writes: rounds of catching every set up to the source's position at the round's
  // start, until one round takes at most max_lag (the final catch-up, with writes stopped, is then about as short).
  // Three rounds over it: refused, nothing changed on the source.
  void CatchUpBeforeTheSwitch() {
    constexpr int kRounds = 3;
    for (int round = 1;; ++round) {
      auto started = std::chrono::steady_clock::now();
      CatchUp(std::nullopt);
      double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (took <= static_cast<double>(o_.max_lag.count())) return;
      if (round == kRounds) {
        Refuse(fmt::format("the sets are still {:.1f} s behind after {} rounds of catching up (--max-lag {} s)", took,
                           kRounds, o_.max_lag.count()),
               "run walferry cdc until walferry status shows a small latency (or lower the write load), then cut "
               "over; or raise --max-lag to accept a longer pause");
      }
      Log()->info("catching up took {:.1f} s, over --max-lag {} s: one more round before writes are stopped", took,
                  o_.max_lag.count());
    }
  }

  // Every set applied up to `until` (the final LSN), or, before writes stop, up to the source's position now.
  // A set whose slot a walferry process elsewhere reads: before the switch its lag is checked (its own worker keeps
  // up); after it, that worker stops at the final position (cdc/worker.h FollowCutover), is waited for, and the
  // rest is caught up here.
  void CatchUp(std::optional<Lsn> until) {
    std::vector<std::string> here;
    for (const std::string& set : sets_) {
      std::optional<control::SlotFacts> slot = control::ReadSlot(source_, Slot(set));
      if (slot && slot->active) {
        if (!until) {
          CheckLagElsewhere(set);
          continue;
        }
        AwaitReaderElsewhere(set);
      }
      here.push_back(set);
    }
    std::vector<cdc::WorkerOptions> workers;
    for (const std::string& set : here) {
      cdc::WorkerOptions w = cdc::ConfiguredWorker(o_.config, set);
      w.until_lsn = until;
      w.until_caught_up = !until;
      workers.push_back(std::move(w));
    }
    Log()->info(until ? "catching every set up to the final position " + until->ToString()
                      : std::string("catching every set up while the application still writes"));
    std::vector<cdc::SetRun> runs = cdc::RunSets(workers, stop_);
    for (size_t i = 0; i < runs.size(); ++i) {
      if (runs[i].error) throw Error(*runs[i].error).AddContext("catching set " + here[i] + " up");
      if (!runs[i].outcome.ok()) {
        throw Error(ErrorKind::kSql, "set " + here[i] + " FAILED while catching up: " + runs[i].outcome.error);
      }
      if (runs[i].outcome.state != "CAUGHT UP") {
        throw Error(ErrorKind::kCancelled, "interrupted while catching set " + here[i] + " up");
      }
    }
  }

  void CheckLagElsewhere(const std::string& set) {
    for (const auto& s : control::ReadSetStatuses(target_, o_.config.control_schema, source_)) {
      if (s.set_name != set) continue;
      if (!s.running || s.state == control::TaskState::kFailed) {
        Refuse("set " + set + " is " + control::DisplayState(s) + " in the process that reads its slot",
               "fix that process (walferry status), then cut over");
      }
      if (s.latency_seconds && *s.latency_seconds > static_cast<double>(o_.max_lag.count())) {
        Refuse(fmt::format("set {} is {:.1f} s behind the {} (--max-lag {} s)", set, *s.latency_seconds,
                           names_.source, o_.max_lag.count()),
               "wait until walferry status shows a small latency for it, or raise --max-lag");
      }
      Log()->info("set {} is streamed by another walferry process ({:.1f} s behind); it will stop at the final "
                  "position",
                  set, s.latency_seconds.value_or(0));
    }
  }

  // After the switch: the process elsewhere reads the final position from the control schema within about a
  // second, applies up to it and releases the slot.
  void AwaitReaderElsewhere(const std::string& set) {
    const std::string slot = Slot(set);
    Log()->info("set {}: waiting for the walferry process reading slot {} to stop at the final position {}", set,
                slot, final_lsn_.ToString());
    auto deadline = std::chrono::steady_clock::now() + o_.timeout;
    while (true) {
      std::optional<control::SlotFacts> facts = control::ReadSlot(source_, slot);
      if (!facts || !facts->active) return;
      if (stop_.load()) {
        throw Error(ErrorKind::kCancelled, "interrupted while waiting for the walferry process reading slot " +
                                               slot + " to stop at the final position");
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        throw Error(ErrorKind::kTimeout, "set " + set + ": slot " + slot + " is still being read " +
                                             std::to_string(o_.timeout.count()) +
                                             " s after writes were stopped")
            .WithHint("stop the walferry cdc or migrate process of that set (Ctrl-C) and run " + names_.command +
                      " again; it continues where it stopped");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  void StopWrites() {
    const std::string db = report_.source_database;
    target_.Exec("INSERT INTO " + Control("cutover") +
                     " (id, step, source_database) VALUES (1, 'stopping_writes', $1) ON CONFLICT (id) DO UPDATE SET "
                     // Only a rerun of this cutover meets a row (another's was archived): its downtime goes on.
                     "step = 'stopping_writes', source_database = $1, final_lsn = NULL",
                 {pg::Param(db)});
    control::RecordCutoverStart(target_, o_.config.control_schema, RecordedOptions(o_));
    read_only_ = true;
    WithContext("making database " + db + " read-only on the " + names_.source, [&] {
      source_.Exec("ALTER DATABASE " + pg::QuoteIdent(db) + " SET default_transaction_read_only = on");
    });
#include "lifecycle/freeze_check.h"
#include "lifecycle/slot_peek.h"
    // Nothing but walferry writes on the target until the fallback's slot exists (lifecycle/target_hold.h).
    if (o_.fallback) HoldTargetReadOnly(target_, o_.config.control_schema);
    // The downtime starts here: from now on the application's new sessions cannot write.
    target_.Exec("UPDATE " + Control("cutover") + " SET writes_stopped_at = coalesce(writes_stopped_at, now())");
    Log()->warn("the {} database {} is READ-ONLY for new sessions from now on ({} --abort makes it writable again)",
                names_.source, db, names_.command);
    if (o_.block_connections) {
      std::vector<std::string> blocked = BlockConnections(source_, target_, o_.config.control_schema);
      Log()->warn("--block-connections: until the cutover is done or aborted, no role but walferry's may connect "
                  "to {} (CONNECT revoked from {} roles; superusers are not held back)",
                  db, blocked.size());
    }
    std::string stopped_at(source_.Exec("SELECT now()::text").Get(0, 0));
    KillPointAfter("stopping_writes");
    if (o_.writes_stopped) {
      Log()->info("--writes-stopped: taking the operator's word that the application no longer writes");
    } else {
      WaitForOldSessions(stopped_at);
    }
    WaitForPreparedTransactions();
    final_lsn_ = cdc::SourceStopPosition(source_);  // a record's end a keepalive reaches (cdc/stop_position.h)
    target_.Exec("UPDATE " + Control("cutover") +
                     " SET step = 'writes_stopped', final_lsn = $1::pg_lsn",
                 {pg::Param(final_lsn_.ToString())});
    Log()->info("writes stopped on {}; final position {}", db, final_lsn_.ToString());
    KillPointAfter("writes_stopped");
  }

  // Sessions connected before the switch keep default_transaction_read_only = off and could still write: end them
  // (terminate_sessions) or wait until they are gone.
  void WaitForOldSessions(const std::string& stopped_at) {
    auto deadline = std::chrono::steady_clock::now() + o_.timeout;
    auto next_log = std::chrono::steady_clock::now();
    for (;;) {
      pg::Result r = source_.Exec(sql::Get("lifecycle/other_sessions"), {pg::Param(stopped_at)});
      if (r.rows() == 0) return;
      std::string list;
      for (int i = 0; i < r.rows(); ++i) {
        list += std::string(i ? "; " : "") + "pid " + std::string(r.Get(i, 0)) + " (" + std::string(r.Get(i, 1)) +
                ", application '" + std::string(r.Get(i, 2)) + "', " + std::string(r.Get(i, 3)) +
                (r.GetBool(i, 4) ? ", in a write transaction" : "") + ")";
      }
      if (stop_.load()) {
        throw Error(ErrorKind::kCancelled, "interrupted while waiting for " + std::to_string(r.rows()) +
                                               " sessions from before the switch to end: " + list);
      }
      if (o_.terminate_sessions && std::chrono::steady_clock::now() < deadline) {
        Log()->warn("--terminate-sessions: ending {} sessions: {}", r.rows(), list);
        for (int i = 0; i < r.rows(); ++i) {
          source_.Exec("SELECT pg_terminate_backend($1::int)", {pg::Param(std::string(r.Get(i, 0)))});
        }
      } else if (std::chrono::steady_clock::now() >= deadline) {
        throw Error(ErrorKind::kTimeout, std::to_string(r.rows()) +
                                             " sessions that connected before writes were stopped are still there "
                                             "(they could still write): " + list)
            .WithDetail("the " + names_.source + " database " + report_.source_database +
                        " is READ-ONLY for new sessions; the cutover has not passed this step")
            .WithHint((o_.terminate_sessions ? "they did not end when terminated (--timeout " +
                                                   std::to_string(o_.timeout.count()) + " s); stop them"
                                             : std::string("stop the application")) +
                      " and run " + names_.command + " again" +
                      (o_.terminate_sessions ? "" : ", or run it with --terminate-sessions") + "; " + names_.command +
                      " --abort makes the " + names_.source + " writable again");
      } else if (std::chrono::steady_clock::now() >= next_log) {
        Log()->info("waiting for {} sessions from before the switch to end: {}", r.rows(), list);
        next_log = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  // A prepared transaction can still be committed (COMMIT PREPARED works in a read-only session) and the slots
  // decode it at its commit: the final position is taken only when none is left (at most `timeout`).
  void WaitForPreparedTransactions() {
    auto deadline = std::chrono::steady_clock::now() + o_.timeout;
    auto next_log = std::chrono::steady_clock::now();
    for (;;) {
      std::vector<std::string> prepared = PreparedTransactions(source_);
      if (prepared.empty()) return;
      std::string list;
      for (const std::string& p : prepared) list += (list.empty() ? "" : "; ") + p;
      if (stop_.load()) {
        throw Error(ErrorKind::kCancelled, "interrupted while waiting for " + std::to_string(prepared.size()) +
                                               " prepared transactions: " + list);
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        throw Error(ErrorKind::kTimeout, std::to_string(prepared.size()) + " prepared transactions are still open " +
                                             std::to_string(o_.timeout.count()) + " s after writes were stopped: " +
                                             list)
            .WithHint("COMMIT PREPARED or ROLLBACK PREPARED them on the " + names_.source + " and run " +
                      names_.command + " again, or " + names_.command + " --abort");
      }
      if (std::chrono::steady_clock::now() >= next_log) {
        Log()->info("waiting for {} prepared transactions to end (they could commit after the final position): {}",
                    prepared.size(), list);
        next_log = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  std::vector<validate::SetTables> SetTables() {
    // Sizes only split validate's work: heap and TOAST data, no index opened (catalog::Sizes::kData).
    return validate::ResolveSets(o_.config, catalog::ListTables(source_, o_.config.control_schema, catalog::Sizes::kData), "", {});
  }

  // Every sequence the sets use (catalog::SequencesOfSchemas, the list validate compares), as the migration's
  // original source has them: in the switch back that is the old source (target_ here), since the new primary's
  // schemas may hold another migration's sequences too (two sources into one target database).
  std::vector<pg::TableName> SequenceNames() {
    std::set<std::string> schemas;
    for (const auto& set : SetTables()) {
      for (const auto& t : set.tables) schemas.insert(t.name.schema);
    }
    pg::Connection& original_source = o_.make_target_writable ? target_ : source_;
    std::vector<pg::TableName> names;
    const std::vector<std::string> schema_list(schemas.begin(), schemas.end());
    for (const catalog::SequenceInfo& s : catalog::SequencesOfSchemas(original_source, schema_list)) {
      names.push_back(s.name);
    }
    return names;
  }

  // The names of those the target lacks, comma-separated; "" when it has them all.
  std::string SequencesMissingOnTarget(const std::vector<pg::TableName>& names) {
    std::vector<std::string> schemas, relnames;
    for (const auto& n : names) {
      schemas.push_back(n.schema);
      relnames.push_back(n.name);
    }
    pg::Result present = target_.Exec(sql::Get("load/existing_tables"),
                                      {pg::Param(pg::TextArray(schemas)), pg::Param(pg::TextArray(relnames))});
    std::set<pg::TableName> there;
    for (int i = 0; i < present.rows(); ++i) {
      there.insert({std::string(present.Get(i, 0)), std::string(present.Get(i, 1))});
    }
    std::string missing;
    for (const auto& n : names) {
      if (there.count(n) == 0) missing += (missing.empty() ? "" : ", ") + n.Display();
    }
    return missing;
  }

  void Sequences() {
    // A few round trips in all, whatever the number of sequences (this runs while writes are stopped).
    std::vector<pg::TableName> names = SequenceNames();
    if (!names.empty()) SetSequences(names);
    report_.sequences = static_cast<int>(names.size());
    Log()->info("set {} sequences on the {} to the {}'s values", report_.sequences, names_.target, names_.source);
  }

  // Reads every sequence's state on the source, checks they all exist on the target and sets them there in one
  // statement (catalog/sequence_values.h).
  void SetSequences(const std::vector<pg::TableName>& names) {
    // Checked in the preflight too; a sequence dropped on the target since is still found here.
    std::string missing = SequencesMissingOnTarget(names);
    if (!missing.empty()) {
      throw Error(ErrorKind::kPrecondition, "sequences missing on the " + names_.target + ": " + missing)
          .WithHint("create them there (as the " + names_.source + " has them) and run " + names_.command + " again");
    }
    std::vector<catalog::SequenceValue> values = catalog::ReadSequenceValues(source_, names);
    WithContext("setting " + std::to_string(names.size()) + " sequences on the " + names_.target,
                [&] { catalog::SetSequenceValues(target_, values); });
  }

  // Only the migration's own large objects are touched (load/large_objects.h).
  void LargeObjects() {
    load::LargeObjectSync r =
        load::SyncLargeObjects(source_, target_, o_.config.control_schema, names_.source, names_.target);
    report_.large_objects_copied = r.copied;
    report_.large_objects_unlinked = r.unlinked;
    Log()->info("large objects: {} on the {}; {} copied or replaced on the {}, {} unlinked there, {} not the "
                "migration's kept there",
                r.on_source, names_.source, r.copied, names_.target, r.unlinked, r.kept);
  }

  void Validate() {
    validate::Options v;
    v.source = o_.config.source;
    v.target = o_.config.target;
    v.control_schema = o_.config.control_schema;
    v.failures_retention = std::chrono::seconds(o_.config.retention.validation_failures_seconds);
    v.jobs = o_.validate_jobs;
    v.repair = o_.repair;
    v.source_frozen = true;
    v.sequences_on_both_sides_only = o_.make_target_writable;
    validate::Report r = validate::Run(v, SetTables());
    report_.validated = true;
    if (r.Equal()) return;
    int64_t differences = 0;
    for (const auto& set : r.sets) {
      for (const auto& t : set.tables) {
        differences += static_cast<int64_t>(t.repair_ran ? t.remaining.size() : t.mismatches.size());
        if (!t.problem.empty()) ++differences;
      }
    }
    // Sequences behind and large objects that differ count too (the message said "0 differences" for them).
    if (r.objects && !r.objects->Equal()) differences += static_cast<int64_t>(r.objects->differences.size());
    throw Error(ErrorKind::kData, "the final validation found " + std::to_string(differences) +
                                      " differences between the frozen " + names_.source + " and the " + names_.target)
        .WithDetail("the " + names_.source + " database " + report_.source_database +
                    " stays READ-ONLY; the differences are in " + Control("validation_failures"))
        .WithHint("run " + names_.command + " --on-difference repair to rewrite them from the frozen " +
                  names_.source + ", or " + names_.command + " --abort to make the " + names_.source +
                  " writable again");
  }

  void Analyze() {
    for (const auto& set : SetTables()) {
      for (const auto& t : set.tables) {
        WithContext("analyzing " + t.name.Display() + " on the " + names_.target,
                    [&] { target_.Exec("ANALYZE " + t.name.Quoted()); });
      }
    }
  }

  CutoverOptions o_;  // a copy: a rerun continues with the first run's options (ContinueAsRecorded)
  const CutoverNames& names_;
  const std::atomic<bool>& stop_;
  std::vector<std::string> sets_;
  pg::Connection target_;
  pg::Connection source_;
  control::ControlSchema control_;
  Lsn final_lsn_;
  CutoverReport report_;
  bool read_only_ = false;  // the source database may be read-only now (StopWrites began, or a rerun)
};

}  // namespace

CutoverReport Cutover(const CutoverOptions& options, const std::atomic<bool>& stop) {
  CutoverOptions o = options;
  // While the target is held read-only (cutover --fallback, also on a rerun), walferry's sessions there write.
  if (!o.make_target_writable && (o.fallback || TargetHeld(o.config.target, o.config.control_schema))) {
    o.config.target = ForWalferry(o.config.target);
  }
  return Cutter(o, stop).Run();
}

namespace {

// Without the target, the row cannot say whether the cutover is done. `done` drops the sets' slots (unless
// --keep-slots): none of them left, the switch may be complete, and a writable source would be a second primary.
void RefuseIfMaybeDone(const CutoverOptions& o, pg::Connection& source, const std::string& db) {
  const control::MigrationNames names = control::NamesFor(source, o.config.migration_id);
  for (const std::string& set : config::SetNames(o.config)) {
    if (control::ReadSlot(source, control::SlotName(names, set))) return;
  }
  throw Error(ErrorKind::kPrecondition, "the " + o.names.target + " is unreachable and no slot of the sets is left "
                                            "on the " + o.names.source + ": the switch may be complete")
      .WithDetail("nothing was changed: making the " + o.names.source + " writable after a complete switch would "
                  "leave two writable primaries")
      .WithHint("run " + o.names.command + " --abort again once the " + o.names.target + " is reachable; if you "
                "know the switch did not complete, ALTER DATABASE " + pg::QuoteIdent(db) +
                " RESET default_transaction_read_only on the " + o.names.source + " yourself");
}

}  // namespace

std::string AbortCutover(const CutoverOptions& o) {
  // The migration's target holds the lock and the row (for the switch back: the source, the database it switches
  // away from, holds the lock; its row is on the old source). Reached first, so that an abort never makes the
  // source writable under a cutover that is still running.
  const std::string& lock_server = o.make_target_writable ? o.config.source : o.config.target;
  const std::string lock_role = o.make_target_writable ? o.names.source : o.names.target;
  std::optional<pg::Connection> lock;
  try {
    lock.emplace(
        pg::Connection::Open(lock_server, {.role = lock_role, .application_name = o.names.command + " --abort"}));
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kConnection) throw;
    Log()->warn("the {} is unreachable ({}): aborting without its lock and without recording it there", lock_role,
                e.what());
  }
  if (lock) control::TakeMigrationLock(*lock, o.names.command + " --abort");
  std::optional<pg::Connection> target;
  if (lock && !o.make_target_writable) {
    target = std::move(lock);
    lock.reset();
  } else {
    try {
      target.emplace(pg::Connection::Open(o.config.target, {.role = o.names.target}));
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kConnection) throw;
      if (lock) throw;  // the switch back's row is on the old source: nothing to abort without it
    }
  }
  std::optional<std::string> step;
  if (target) {
    target->Exec("SET default_transaction_read_only = off");  // held read-only by cutover --fallback (target_hold.h)
    control::ControlSchema control(*target, o.config.control_schema);
    control.Ensure();
    step = control.CutoverStep();
  }
  pg::Connection source = pg::Connection::Open(o.config.source, {.role = o.names.source});
  source.Exec("SET default_transaction_read_only = off");  // the database's default is what --abort resets
  std::string db(source.Exec("SELECT current_database()").Get(0, 0));
  if (step == "done") {
    throw Error(ErrorKind::kPrecondition, "the switch is complete: the slots are dropped and replication cannot resume")
        .WithHint("if the " + o.names.source + " must take writes again, run ALTER DATABASE " + pg::QuoteIdent(db) +
                  " RESET default_transaction_read_only on it yourself");
  }
  if (!target) RefuseIfMaybeDone(o, source, db);
  // The way back's part (lifecycle/fallback.h), before the source takes writes again: the switch back leaves the
  // old source read-only (never two writable primaries); the forward cutover ends a fallback it prepared. Both need
  // the target: with it down, a fallback prepared before stays (the next cutover --fallback refuses to reuse a
  // slot no fallback row claims).
  if (target) {
    if (o.make_target_writable) {
      KeepOldSourceReadOnly(*target);
    } else if (step) {
      EndAbortedFallback(o.config);
    }
  }
  // The source first: it is what the application needs back; the target's row follows.
  source.Exec("ALTER DATABASE " + pg::QuoteIdent(db) + " RESET default_transaction_read_only");
  if (!target) {
    Log()->warn("{} aborted on the {} only: the {} database {} takes writes again (new sessions), but the {} is "
                "unreachable and still records the cutover as in progress; the next {} (or {} --abort) records the "
                "abort there once it is reachable (and gives back what --block-connections revoked)",
                o.names.command, o.names.source, o.names.source, db, o.names.target, o.names.command,
                o.names.command);
    return db;
  }
  RestoreConnections(source, *target, o.config.control_schema);  // what --block-connections revoked, if anything
  if (step) target->Exec("UPDATE " + control::ControlSchema(*target, o.config.control_schema).Table("cutover") +
                         " SET step = 'aborted'");
  if (!o.make_target_writable) ReleaseTarget(*target, o.config.control_schema);
  Log()->info("{} aborted: the {} database {} takes writes again (new sessions); replication can resume",
              o.names.command, o.names.source, db);
  return db;
}

}  // namespace walferry::lifecycle
