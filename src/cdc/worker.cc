#include "cdc/worker.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <utility>

#include "cdc/failure_class.h"
#include "cdc/slot_reader.h"
#include "cdc/stop_position.h"
#include "cdc/worker_parts.h"
#include "common/log.h"
#include "control/control_schema.h"
#include "control/publication.h"
#include "control/retention.h"
#include "control/set_status.h"
#include "control/truncate_capture.h"
#include "pg/conninfo.h"
#include "pg/server_version.h"
#include "sql/sql.h"

namespace walferry::cdc {
namespace {

using worker_parts::Apply;
using worker_parts::Capture;
using worker_parts::kFeedbackInterval;

// Thrown out of a session when another live process reads the set's slot (cdc/slot_reader.h); Run() turns it into
// that Error without recording a failure. Not an Error, so no failure handler takes it for one.
struct SecondReaderFound {
  Error error;
};

constexpr std::chrono::milliseconds kReadTimeout{200};
// How often a running worker checks its slot for control::SlotWarnings.
constexpr std::chrono::seconds kSlotCheckInterval{60};
// How long a session that ends on purpose waits for the target to flush what it applied before telling the slot.
constexpr std::chrono::seconds kFinalConfirmWait{10};
// A replication connection that delivers nothing, not even a keepalive, is asked for one after kPingAfter of
// waiting and is taken for lost after kSilenceLimit (as wal_receiver_timeout does): a half-open connection (a
// network cut that closed nothing) would otherwise be waited on forever.
constexpr std::chrono::seconds kPingAfter{10};
constexpr std::chrono::seconds kSilenceLimit{30};
// Blocking calls on the status, metadata and heartbeat connections give up after this (pg::ConnectOptions).
constexpr std::chrono::seconds kResponseTimeout{20};
// The apply connection may wait long for a legitimately long statement; after this much waiting for one result,
// and every 5 s after, a fresh connection asks whether the apply backend is executing at all.
constexpr std::chrono::seconds kApplyCheckAfter{10};
// A walsender on the set's slot whose client has not answered for this long is a dead connection's: walferry
// answers every second. Ended so the slot can be read again without waiting for wal_sender_timeout.
constexpr std::chrono::seconds kStaleReader{15};
// How often a running worker deletes its set's expired apply exceptions (retention.apply_exceptions).
constexpr std::chrono::hours kExpiryInterval{1};
// A batch table whose batch failed set-based (and was replayed per change) is applied per change this long.
constexpr std::chrono::seconds kBatchPause{60};
// Two apply connections: the group in flight is committed when the stream brings nothing for this long (for the
// tests, docs/testing.md: WALFERRY_CDC_IN_FLIGHT_GRACE_MS holds it longer, so they meet it in flight for sure).
std::chrono::milliseconds InFlightGrace() {
  static const std::chrono::milliseconds grace{[] {
    const char* env = std::getenv("WALFERRY_CDC_IN_FLIGHT_GRACE_MS");
    return env ? std::atoi(env) : 20;
  }()};
  return grace;
}
// ... and an apply connection that waits this long is asked whether it waits for the other one's locks.
constexpr std::chrono::milliseconds kCrossWaitCheckAfter{1000};

}  // namespace

Worker::Worker(WorkerOptions options, const std::atomic<bool>& stop)
    : options_(std::move(options)), policy_(ParseErrorPolicy(options_.cdc.error_policy)), stop_(stop) {}

void Worker::Prepare() {
  // The target (or the source, for --until-caught-up) may be down right now, e.g. in a failover: retried like a
  // session. Configuration errors (no start position) are not retriable and end the worker at once.
  ExactlyOnce gate(Lsn{}, std::nullopt, {},
                   {std::chrono::seconds(options_.cdc.retry_for_seconds), options_.cdc.max_retries});
  while (true) {
    try {
      PrepareOnce();
      return;
    } catch (const Error& e) {
      if (ClassifyFailure(e) == FailureClass::kPermanentConnection) throw RefusedConnection(e);
      if (!Retriable(e) || gate.OnFailure({.retriable = true, .stop_requested = stop_.load()},
                                          Clock::now()) != FailureAction::kRetry) {
        throw;
      }
      Capture()->warn("set {}: {} (retry {})", options_.set_name, e.what(), gate.consecutive_failures());
      Sleep(ExactlyOnce::Backoff(gate.consecutive_failures()));
    }
  }
}

void Worker::PrepareOnce() {
  pg::Connection source = pg::Connection::Open(options_.source, {.role = "source"});
  const control::MigrationNames names = control::NamesFor(source, options_.migration_id);
  slot_name_ = control::SlotName(names, options_.set_name);
  publication_name_ = control::PublicationName(names, options_.set_name);
  // One reader per set (cdc/slot_reader.h): refused before anything is written, the status row included.
  if (std::optional<SlotReader> reader = LiveReader(source, slot_name_, options_.set_name)) {
    throw SecondReader(options_.set_name, slot_name_, *reader);
  }
  pg::Connection target = pg::Connection::Open(options_.target, {.role = "target"});
  control::ControlSchema cs(target, options_.control_schema);
  cs.Ensure();  // also the suspended_tables of the suspend-table error policy
  auto set = cs.GetSet(options_.set_name);
  if (set && set->slot_name != slot_name_) {
    throw Error(ErrorKind::kConfig, "set '" + options_.set_name + "' was loaded with the slot " + set->slot_name +
                                        ", but the configuration names it " + slot_name_)
        .WithDetail("the slot and publication names come from migration_id in walferry.yaml and the source "
                    "database; one of them changed since the set was loaded")
        .WithHint("put migration_id back as it was when the set was loaded (or remove it, for slots named "
                  "walferry_<set>), or restart the set (walferry restart --set " + options_.set_name + ")");
  }
  Lsn start = options_.start_lsn.value_or(Lsn{});
  if (!set || !set->start_lsn.valid()) {
    if (!options_.start_lsn) {
      throw Error(ErrorKind::kPrecondition, "set '" + options_.set_name + "' has no CDC start position")
          .WithHint("run walferry load first, or pass --start-lsn LSN when the data was loaded another way");
    }
    cs.UpsertSet({options_.set_name, slot_name_, publication_name_,
                  "", start, set ? set->load_state : control::LoadState::kLoaded});
  } else {
    start = std::max(start, set->start_lsn);
  }
  std::optional<Lsn> cutover_final = CutoverFinalLsn(target);
  if (options_.dms_compatible_views) StatusWriter(std::move(target), options_.control_schema, "").CreateDmsViews();
  if (!options_.tables.empty()) {
    // On a 13 source the publication also holds walferry's table of partition TRUNCATE announcements.
    std::vector<pg::TableName> members = options_.tables;
    members.push_back({options_.control_schema, control::kTruncateTable});
    control::CheckPublicationHoldsOnly(source, publication_name_, options_.set_name, members);
  }
  CaptureTruncates(source);
  std::optional<Lsn> stop_at = options_.until_lsn;
  if (options_.until_caught_up) {
    Lsn now = SourceStopPosition(source);
    stop_at = stop_at ? std::min(*stop_at, now) : now;
  }
  if (cutover_final) stop_at = stop_at ? std::min(*stop_at, *cutover_final) : *cutover_final;
  GroupLimits limits;
  if (!options_.batch_tables.empty()) {
    // A batch: as many whole source transactions as arrive back to back, up to the batch bounds.
    limits.max_transactions = UINT64_MAX;
    limits.max_rows = static_cast<uint64_t>(options_.cdc.batch_max_rows);
    limits.max_age = std::chrono::milliseconds(options_.cdc.batch_max_ms);
  }
  core_.emplace(start, stop_at, limits,
                RetryLimits{std::chrono::seconds(options_.cdc.retry_for_seconds), options_.cdc.max_retries});
  Capture()->info("set {}: CDC start {}{}", options_.set_name, start.ToString(),
                  stop_at ? ", stopping at " + stop_at->ToString() : "");
}

std::optional<Lsn> Worker::CutoverFinalLsn(pg::Connection& target) {
  pg::Result r = target.Exec(control::WithSchema(sql::Get("cdc/cutover_final_lsn"), options_.control_schema));
  if (r.rows() == 0) return std::nullopt;
  return Lsn::Parse(r.Get(0, 0));
}

void Worker::FollowCutover() {
  std::optional<Lsn> final_lsn = CutoverFinalLsn(status_->connection());
  if (!final_lsn || (core_->stop_at() && *core_->stop_at() <= *final_lsn)) return;
  core_->StopAt(*final_lsn);
  // Said of "the database this set streams from": for the fallback's worker (walferry fallback) that database is
  // the forward target, and the cutover is the switch back.
  Capture()->warn("set {}: a cutover stopped writes on the database this set streams from; stopping at its final "
                  "position {} so that the cutover can finish",
                  options_.set_name, final_lsn->ToString());
}

void Worker::CaptureTruncates(pg::Connection& source) {
  // The load installed the triggers before the slot existed; partitions created since get theirs now.
  control::TruncateCaptureResult r = control::InstallTruncateCapture(source, options_.control_schema,
                                                                     publication_name_);
  for (const pg::TableName& leaf : r.installed) {
    Capture()->info("set {}: partition {} now carries its TRUNCATEs (trigger {} created on the source)",
                    options_.set_name, leaf.Display(), control::kTruncateTrigger);
  }
}

WorkerOutcome Worker::Run() {
  Prepare();
  while (true) {
    std::optional<WorkerOutcome> end;
    try {
      SessionEnd session = RunSession();
      std::string state = session == SessionEnd::kReachedStop ? "CAUGHT UP" : "STOPPED";
      WriteStatus(state);
      Apply()->info("set {}: {}: {} rows of {} source transactions applied in {} target transactions; checkpoint "
                    "{}, confirmed to the slot {}; streamed transactions: {} applied at their commit ({} of them "
                    "while they ran on the source), {} aborted on the source",
                    options_.set_name, state, rows_total_, txns_total_, groups_total_, core_->applied().ToString(),
                    core_->confirmed().ToString(), streamed_applied_, streamed_early_, streamed_aborted_);
      if (groups_pipelined_ > 0) {
        Apply()->info("set {}: two apply connections: {} batches committed pipelined, {} waits for the batch before",
                      options_.set_name, groups_pipelined_, in_flight_waits_);
      }
      return {state, core_->applied(), rows_total_, ""};
    } catch (const SecondReaderFound& found) {
      throw found.error;
    } catch (const BatchFallback& f) {
      OnBatchFallback(f);
      continue;  // not a failure of this set's CDC: nothing recorded, the other reader's status stands
    } catch (const Error& e) {
      end = Recover(e);
    } catch (const std::exception& e) {
      // A bug, not a server's answer: the set fails loudly instead of taking the process down.
      end = Failed(std::string("internal error: ") + e.what(), std::nullopt);
    }
    if (end) return *end;
  }
}

std::optional<WorkerOutcome> Worker::Recover(const Error& e) {
  // A change that failed because the server went away (shutdown, terminated backend: 57P*, 08*) is not the
  // change's fault: retried like any connection failure, never recorded as an apply exception.
  // A failure while the group in flight was finished is that group's: the core judges it as the open group.
  Applier* failing = failed_in_flight_ && spare_ ? &*spare_ : applier_ ? &*applier_ : nullptr;
  if (std::exchange(failed_in_flight_, false)) core_->InFlightFailed();
  std::optional<FailedChange> failed = failing && !Retriable(e) ? failing->failed_change() : std::nullopt;
  const FailureClass cls = ClassifyFailure(e, failed ? std::string_view(failed->statement) : std::string_view());
  if (cls == FailureClass::kPermanentConnection) {
    // A password changed, a database dropped, pg_hba.conf edited while CDC ran: no retry helps (exit 2).
    Failed(e.what(), std::nullopt);
    throw RefusedConnection(e);
  }
  // suspend-table acts only on the change's own failures (cdc/failure_class.h): anything else fails the set.
  Failure f{.retriable = cls == FailureClass::kTransient,
            .suspend_policy = policy_ == ErrorPolicy::kSuspendTable && cls == FailureClass::kChange,
            .stop_requested = stop_.load()};
  if (failed) f.rejected_txn = failed->txn_final_lsn;
  f.rejected_at_commit = std::exchange(commit_rejected_, false) && !f.retriable;
  if (early_ && e.sqlstate() == "55P03") {
    // The apply connection may have waited for the early transaction's locks where walferry could not see it:
    // never again in this process, so a retry cannot meet the same wait.
    early_off_ = true;
    Apply()->warn("set {}: a lock wait timed out while a streamed transaction was applied early; streamed "
                  "transactions are applied at their commit from now on",
                  options_.set_name);
  }
  if (spare_ && e.sqlstate() == "55P03") {
    // The wait may have been one apply connection's for the other's locks where walferry could not see it.
    pipeline_off_until_ = std::chrono::steady_clock::now() + kBatchPause;
    Apply()->warn("set {}: a lock wait timed out while two apply connections were in use; one connection for the "
                  "next {} s",
                  options_.set_name, kBatchPause.count());
  }
  FailureAction action = core_->OnFailure(f, Clock::now());
  repl_.reset();
  applier_.reset();  // closing the connection rolls back an open target transaction
  spare_.reset();
  spare_in_flight_ = false;
  DropEarly();
  status_.reset();
  heartbeat_conn_.reset();
  covered_.reset();
  switch (action) {
    case FailureAction::kIsolate:
      if (failed) {
        Apply()->info("set {}: a change of the transaction committed at {} was rejected; replaying the "
                      "transactions before it one target transaction each",
                      options_.set_name, failed->txn_final_lsn.ToString());
      } else {
        Apply()->info("set {}: the target refused to commit a group of source transactions ({}); replaying them "
                      "one target transaction each to find the one it refuses",
                      options_.set_name, e.what());
      }
      return std::nullopt;
    case FailureAction::kSuspend:
      try {
        if (Suspend(*failed, e.what())) return std::nullopt;  // replay: the table's changes are now recorded
      } catch (const Error& e2) {
        Apply()->error("set {}: could not suspend {}: {}", options_.set_name, failed->table.Display(), e2.what());
      }
      return Failed(e.what(), failed);
    case FailureAction::kRetry:
      ++retries_total_;
      Capture()->warn("set {}: {} (retry {}; retrying for up to {} s)", options_.set_name, e.what(),
                      core_->consecutive_failures(), options_.cdc.retry_for_seconds);
      Sleep(ExactlyOnce::Backoff(core_->consecutive_failures()));
      return std::nullopt;
    case FailureAction::kFail:
      break;
  }
  std::string reason = e.what();
  if (!failed && Retriable(e) && !stop_.load()) {
    reason += " (gave up after " + std::to_string(core_->consecutive_failures()) + " retries)";
  }
  return Failed(reason, failed);
}

void Worker::OnBatchFallback(const BatchFallback& f) {
  // Thrown from CommitGroup too: not a COMMIT the target refused, nothing for the next failure to isolate.
  commit_rejected_ = false;
  per_change_through_ = std::max({per_change_through_, f.last(), last_begin_final_});
  ++batch_replays_;
  batch_paused_until_[f.table()] = std::chrono::steady_clock::now() + kBatchPause;
  last_replay_ = f.table().Display() + " at " + f.first().ToString() + ".." + per_change_through_.ToString() + ": " +
                 f.what();
  Apply()->warn("set {}: batch apply of {} failed for the source transactions committed from {} to {}: {}; the "
                "batch was rolled back and is replayed per change in source order",
                options_.set_name, f.table().Display(), f.first().ToString(), per_change_through_.ToString(),
                f.what(), kBatchPause.count());
  repl_.reset();
  applier_.reset();  // closing the connection rolls the batch back
  spare_.reset();    // and the group in flight, if any (the next session starts from the checkpoint)
  spare_in_flight_ = failed_in_flight_ = false;
  DropEarly();
  status_.reset();
  heartbeat_conn_.reset();
  covered_.reset();
}

WorkerOutcome Worker::Failed(const std::string& reason, const std::optional<FailedChange>& failed) {
  Apply()->error("set {}: FAILED: {}", options_.set_name, reason);
  DropEarly();
  try {
    status_.reset();
    status_.emplace(pg::Connection::Open(options_.target, {.role = "target"}), options_.control_schema,
                    options_.set_name);
    if (failed) status_->RecordException(failed->table, failed->statement, reason);
    WriteStatus("FAILED", reason);
  } catch (const Error& e2) {
    Apply()->error("set {}: could not record the failure on the target: {}", options_.set_name, e2.what());
  }
  return {"FAILED", core_->applied(), rows_total_, reason};
}

bool Worker::Suspend(const FailedChange& failed, const std::string& reason) {
  pg::Connection t = pg::Connection::Open(options_.target, {.role = "target"});
  if (LoadSuspended(t).contains({failed.table.schema, failed.table.name})) return false;
  t.Exec("BEGIN");
  t.Exec(WithSchema(sql::Get("cdc/suspend_table"), options_.control_schema),
         {pg::Param(options_.set_name), pg::Param(failed.table.schema), pg::Param(failed.table.name),
          pg::Param(failed.txn_final_lsn.ToString()), pg::Param(reason), pg::Param(failed.statement)});
  t.Exec(WithSchema(sql::Get("cdc/insert_exception"), options_.control_schema),
         {pg::Param(options_.set_name), pg::Param(failed.table.schema), pg::Param(failed.table.name),
          pg::Param(failed.statement), pg::Param("table suspended (cdc.error_policy suspend-table): " + reason)});
  t.Exec("COMMIT");
  Apply()->error("set {}: cdc.error_policy suspend-table: table {} is SUSPENDED from the transaction committed at {} "
                 "on: {}. Its changes are no longer applied; each is recorded in {}.apply_exceptions. Other tables "
                 "continue. To resume it: reload the table, then delete its row from {}.suspended_tables",
                 options_.set_name, failed.table.Display(), failed.txn_final_lsn.ToString(), reason,
                 options_.control_schema, options_.control_schema);
  return true;
}

std::set<std::pair<std::string, std::string>> Worker::LoadSuspended(pg::Connection& target) const {
  std::set<std::pair<std::string, std::string>> out;
  pg::Result r = target.Exec(WithSchema(sql::Get("cdc/list_suspended"), options_.control_schema),
                             {pg::Param(options_.set_name)});
  for (int i = 0; i < r.rows(); ++i) out.emplace(std::string(r.Get(i, 0)), std::string(r.Get(i, 1)));
  return out;
}

bool Worker::Retriable(const Error& e) const { return ClassifyFailure(e) == FailureClass::kTransient; }

Error Worker::RefusedConnection(const Error& e) const {
  Error out(ErrorKind::kConfig, e.what());
  out.WithHint("fix the connection settings in the configuration (source/target: host, user, password, database) "
               "or the server's pg_hba.conf, then run walferry again; a refused login is not retried");
  return out;
}

void Worker::WhileTargetWorks(std::chrono::milliseconds waited) {
  // A long batch on the target must not get the walsender to end the stream for silence (wal_sender_timeout): a
  // standby status update is an answer. The stream itself is not read meanwhile.
  if (repl_ && std::chrono::steady_clock::now() - last_feedback_ >= kFeedbackInterval) SendFeedback(false);
  CheckEarlyConflict(waited);
  CheckCrossWait(waited);
  if (waited < std::chrono::seconds(1)) {  // a new wait
    next_apply_check_ = kApplyCheckAfter;
    apply_idle_seen_ = 0;
  }
  if (waited < next_apply_check_) return;
  next_apply_check_ = waited + std::chrono::seconds(5);
  // Waiting for a result while the backend waits for input (idle in transaction) twice in a row: what walferry
  // sent never arrived, or the answer never will. A backend that is executing (active) is left alone.
  pg::Connection probe =
      pg::Connection::Open(options_.target, {.role = "target", .response_timeout = kResponseTimeout});
  Applier& waiting = waiting_on_spare_ ? *spare_ : *applier_;
  pg::Result r = probe.Exec("SELECT state FROM pg_stat_activity WHERE pid = $1",
                            {pg::Param(std::to_string(waiting.connection().BackendPid()))});
  bool executing = r.rows() == 1 && r.Get(0, 0) == "active";
  apply_idle_seen_ = executing ? 0 : apply_idle_seen_ + 1;
  if (apply_idle_seen_ >= 2) {
    throw Error(ErrorKind::kConnection, "waited " + std::to_string(waited.count() / 1000) +
                                            " s for the target's answer while its apply backend is not executing "
                                            "anything: the apply connection is taken for lost");
  }
}

void Worker::CheckCrossWait(std::chrono::milliseconds waited) {
  if (waited < kCrossWaitCheckAfter) {  // a new wait
    next_cross_check_ = kCrossWaitCheckAfter;
    return;
  }
  if (!spare_in_flight_ || !status_ || waited < next_cross_check_) return;
  next_cross_check_ = waited + kCrossWaitCheckAfter;
  // The footprints keep the two groups' rows apart, but a target-only unique index, a trigger or a lock the other
  // group took can still make one connection wait for the other.
  Applier& waiting = waiting_on_spare_ ? *spare_ : *applier_;
  Applier& other = waiting_on_spare_ ? *applier_ : *spare_;
  pg::Result r = status_->connection().Exec(
      sql::Get("cdc/blocked_by"), {pg::Param(std::to_string(waiting.connection().BackendPid())),
                                   pg::Param(std::to_string(other.connection().BackendPid()))});
  if (!r.GetBool(0, 0)) return;
  if (!waiting_on_spare_) {
    // The later group waits for the one in flight: commit that one now (it is complete), and the wait ends.
    ++in_flight_waits_;
    FinishSpare();
    return;
  }
  // The group in flight waits for the later group, whose COMMIT waits for it: neither would ever go on. Both are
  // rolled back by ending the session; the next one applies them again, on one connection for a while.
  pipeline_off_until_ = std::chrono::steady_clock::now() + kBatchPause;
  throw Error(ErrorKind::kConnection, "the group applied on the second apply connection waited for a lock of the "
                                      "group after it; both are rolled back and applied again on one connection "
                                      "for " + std::to_string(kBatchPause.count()) + " s");
}

void Worker::Sleep(std::chrono::milliseconds wait) {
  auto until = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < until && !stop_.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Worker::SessionEnd Worker::RunSession() {
  status_.emplace(pg::Connection::Open(options_.target, {.role = "target", .response_timeout = kResponseTimeout}),
                  options_.control_schema, options_.set_name);
  DropEarly();  // an early transaction of an earlier session
  Lsn start;
  {
    // A commit whose result was lost (connection dropped during COMMIT), or lost by a target crash, is resolved
    // here: the checkpoint the target has now says, never what this process remembers.
    pg::Connection t =
        pg::Connection::Open(options_.target, {.role = "target", .response_timeout = kResponseTimeout});
    Lsn cp = control::ControlSchema(t, options_.control_schema).GetCheckpoint(options_.set_name).value_or(Lsn{});
    if (cp != core_->applied()) {
      Apply()->info("set {}: checkpoint on the target is {} (this process last committed {})", options_.set_name,
                    cp.ToString(), core_->applied().ToString());
    }
    start = core_->StartSession(cp);
    silent_for_ = {};
    suspended_ = LoadSuspended(t);
  }
  spare_.reset();
  spare_in_flight_ = waiting_on_spare_ = failed_in_flight_ = false;
  // Named so an operator (and the fault tests) can tell the apply backend in pg_stat_activity.
  applier_.emplace(pg::Connection::Open(options_.target,
                                        {.role = "target", .application_name = "walferry_apply_" + options_.set_name}),
                   MakeApplierOptions());
  repl_.emplace(pg::ReplicationConnection::Open(options_.source, "source", ReaderApplicationName(options_.set_name)));
  const pg::ServerFeatures features = pg::FeaturesOf(repl_->connection().ServerVersionNum());
  const int protocol = ProtocolFor(features);
  decoder_.emplace(protocol);
  stream_xid_.reset();
  streamed_in_group_ = 0;
  early_held_before_ = Lsn{};
  repl_->connection().Exec("SET datestyle = 'ISO'; SET intervalstyle = 'postgres'; SET extra_float_digits = 3");
  try {
    std::vector<std::pair<std::string, std::string>> plugin_options = {
        {"proto_version", std::to_string(protocol)},
        {"publication_names", publication_name_}};
    // In-progress transactions are sent while they run and spilled here until their commit (docs/cdc.md,
    // "Streaming of large transactions"). Never 'parallel' (its Stream Abort differs) nor two_phase.
    if (protocol >= 2) plugin_options.emplace_back("streaming", "on");
    // Logical messages carry a TRUNCATE of one partition (control/truncate_capture.h); pgoutput has them since 14.
    if (features.logical_messages) {
      plugin_options.emplace_back("messages", "true");
    }
    repl_->StartLogical(slot_name_, start, plugin_options);
  } catch (const Error& e) {
    if (e.sqlstate() == "55006") {
      // The slot is in use: by another live reader that started at the same time as this one (refused, nothing
      // written), or by a dead connection (ended after kStaleReader; the session is retried).
      pg::Connection source =
          pg::Connection::Open(options_.source, {.role = "source", .response_timeout = kResponseTimeout});
      if (std::optional<SlotReader> reader = LiveReader(source, slot_name_, options_.set_name)) {
        throw SecondReaderFound(SecondReader(options_.set_name, slot_name_, *reader));
      }
      EndStaleReader();
    }
    throw;
  }
  // The fence: only now, as the slot's one reader, end every other apply session of the set and wait until they
  // are gone; then read the checkpoint again. A dead connection's session could otherwise still commit an old
  // group later (a frozen middlebox that delivers its COMMIT when it wakes up): over newer rows, and moving the
  // checkpoint back. A commit of it that landed before the fence is in the checkpoint read here.
  EndStaleAppliers();
  // This process now reads the slot: the walsender sends every unfinished transaction again from its start, so
  // the spill files of an earlier session (or a killed process) are dropped, never applied.
  if (!spill_) {
    const std::filesystem::path dir = options_.cdc.spill_dir.empty() ? std::filesystem::temp_directory_path()
                                                                     : std::filesystem::path(options_.cdc.spill_dir);
    spill_.emplace(dir / ("walferry-stream-" + slot_name_));
  }
  spill_->Reset();
  Lsn fenced = control::ControlSchema(status_->connection(), options_.control_schema)
                   .GetCheckpoint(options_.set_name)
                   .value_or(Lsn{});
  if (fenced != core_->applied()) {
    Apply()->warn("set {}: the checkpoint moved from {} to {} while an earlier session was being ended; starting "
                  "after {}",
                  options_.set_name, core_->applied().ToString(), fenced.ToString(), fenced.ToString());
    core_->StartSession(fenced);
    // The stream was asked for from before it: what committed up to `fenced` comes again, to be skipped, and a
    // transaction streamed before the first commit at or past it may be one of them (worker_stream.cc).
    early_held_before_ = fenced;
  }
  CheckSlotPosition();
  Capture()->info("set {}: streaming from slot {} at {}{}", options_.set_name, slot_name_,
                  start.ToString(),
                  core_->stop_at() ? ", stopping at " + core_->stop_at()->ToString() : "");
  WriteStatus("CHANGE PROCESSING");
  ExpireExceptions();
  while (true) {
    if (core_->GroupDue(Clock::now(), stop_.load()) ||
        (core_->GroupCommittable() && applier_->net_bytes() >= static_cast<uint64_t>(options_.cdc.batch_max_bytes))) {
      PipelineGroup();
    }
    if (core_->InFlightDue(stop_.load())) FinishSpare();
    switch (core_->State(stop_.load())) {
      case ExactlyOnce::SessionState::kStopRequested:
        ConfirmAllApplied();
        return SessionEnd::kStopRequested;
      case ExactlyOnce::SessionState::kReachedStop:
        ConfirmAllApplied();
        return SessionEnd::kReachedStop;
      case ExactlyOnce::SessionState::kRunning:
        break;
    }
    // With a complete group open, only what has already arrived is read: when nothing has, the group is committed
    // now. Inside a transaction the rest of it is waited for (no busy loop).
    // A group in flight (two apply connections) is committed when nothing arrives for InFlightGrace(), or when it
    // has been in flight for cdc.batch_max_ms (a long source transaction must not hold it back).
    const bool committable = core_->GroupCommittable();
    const bool flight_waits = spare_in_flight_ && !core_->in_txn();
    if (spare_in_flight_ && Clock::now() - flight_started_ >= std::chrono::milliseconds(options_.cdc.batch_max_ms)) {
      FinishSpare();
    }
    auto read_start = std::chrono::steady_clock::now();
    std::optional<pg::StreamMessage> msg = repl_->Read(committable    ? std::chrono::milliseconds(0)
                                                       : flight_waits ? InFlightGrace()
                                                                      : kReadTimeout);
    if (!msg && committable) {
      PipelineGroup();
      continue;
    }
    if (!msg && flight_waits) {
      FinishSpare();
      continue;
    }
    CheckSilence(msg.has_value(), std::chrono::steady_clock::now() - read_start);
    if (msg) {
      if (auto* d = std::get_if<pg::XLogData>(&*msg)) {
        core_->OnWalEnd(d->wal_end, false);
        last_send_time_ = d->send_time;
        WithContext("at source LSN " + d->wal_start.ToString(), [&] { OnPayload(d->payload); });
      } else if (auto* k = std::get_if<pg::Keepalive>(&*msg)) {
        // The walsender has sent everything it has (or it is time to answer): the group in flight waits for nothing.
        if (spare_in_flight_ && !core_->in_txn()) FinishSpare();
        core_->OnWalEnd(k->wal_end, true);
        last_send_time_ = k->send_time;
        if (k->reply_requested) AnswerPing();
      } else {
        throw Error(ErrorKind::kConnection, "the source ended the replication stream");
      }
    }
    Periodic();
  }
}

void Worker::OnPayload(std::string_view payload) {
  const bool in_stream_block = decoder_->streaming_active();
  Message m = decoder_->Decode(payload);
  if (in_stream_block && !std::holds_alternative<StreamStop>(m)) {
    // An Origin right after Stream Start (a source that is itself a subscriber) carries nothing to apply.
    if (!std::holds_alternative<Origin>(m)) SpillStreamed(m, payload);
    return;
  }
  if (const auto* start = std::get_if<StreamStart>(&m)) {
    OnStreamStart(*start);
  } else if (std::holds_alternative<StreamStop>(m)) {
    stream_xid_.reset();
  } else if (const auto* commit = std::get_if<StreamCommit>(&m)) {
    OnStreamCommit(*commit);
  } else if (const auto* abort = std::get_if<StreamAbort>(&m)) {
    OnStreamAbort(*abort);
  } else {
    Dispatch(m, *decoder_);
  }
}

void Worker::Dispatch(const Message& m, const Decoder& decoder) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Begin>) {
          OnBegin(x);
        } else if constexpr (std::is_same_v<T, Commit>) {
          OnCommit(x);
        } else if constexpr (std::is_same_v<T, Relation>) {
          // Both apply connections drop what they prepared for the old description (the one in flight after its
          // group: a description that changes may change the key its footprint holds).
          FinishSpare();
          applier_->OnRelation(x);
          if (spare_) spare_->OnRelation(x);
        } else if constexpr (std::is_same_v<T, Insert> || std::is_same_v<T, Update> || std::is_same_v<T, Delete> ||
                             std::is_same_v<T, Truncate>) {
          // A change outside a transaction is a broken stream, never something to drop quietly.
          if (!core_->in_txn()) {
            throw Error(ErrorKind::kProtocol, std::string(MessageName(m)) + " outside a transaction");
          }
          if (!core_->applying()) return;  // a transaction already on the target
          ApplyChange(*applier_, m, decoder);
        } else if constexpr (std::is_same_v<T, LogicalMessage>) {
          OnLogicalMessage(x);
        } else if constexpr (std::is_same_v<T, Type> || std::is_same_v<T, Origin>) {
          // Type descriptions and origins carry nothing to apply.
        } else {
          // Two-phase messages (never asked for), or stream framing where it cannot be (a decoder bug).
          throw Error(ErrorKind::kProtocol, std::string("unexpected ") + MessageName(m) + " message");
        }
      },
      m);
}

void Worker::ApplyChange(Applier& applier, const Message& m, const Decoder& decoder) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Truncate>) {
          std::vector<const Relation*> rels;
          for (RelationId id : x.relation_ids) {
            const Relation* r = decoder.FindRelation(id);
            if (!r) {
              throw Error(ErrorKind::kProtocol, "TRUNCATE of relation " + std::to_string(id.value) + " never described");
            }
            // walferry's table of partition TRUNCATE announcements (13) is never the target's to empty.
            if (!control::IsTruncateTable({r->namespace_name, r->name}, options_.control_schema)) rels.push_back(r);
          }
          if (!rels.empty()) applier.Apply(rels, x);
        } else if constexpr (std::is_same_v<T, Insert> || std::is_same_v<T, Update> || std::is_same_v<T, Delete>) {
          const Relation* rel = decoder.FindRelation(x.relation_id);
          if (!rel) {
            throw Error(ErrorKind::kProtocol, std::string(MessageName(m)) + " of relation " +
                                                  std::to_string(x.relation_id.value) + " never described");
          }
          if (control::IsTruncateTable({rel->namespace_name, rel->name}, options_.control_schema)) {
            // A 13 source announces a partition TRUNCATE by a row there (control/truncate_capture.h): never a row
            // of the target.
            if constexpr (std::is_same_v<T, Insert>) OnTruncateRow(applier, *rel, x);
            return;
          }
          applier.Apply(*rel, x);
        } else {
          throw Error(ErrorKind::kInternal, std::string(MessageName(m)) + " is not a row change");
        }
      },
      m);
}

void Worker::OnLogicalMessage(const LogicalMessage& m) {
  // Only walferry's partition TRUNCATE announcements (control/truncate_capture.h) mean something; heartbeats and
  // anybody else's messages are passed over.
  if (!m.transactional || m.prefix != control::kTruncateMessagePrefix) return;
  if (!core_->in_txn()) throw Error(ErrorKind::kProtocol, "a transactional logical message outside a transaction");
  if (!core_->applying()) return;
  std::optional<control::TruncatedPartition> p = control::ParseTruncateMessage(m.content);
  if (!p) {
    throw Error(ErrorKind::kProtocol, "a " + std::string(control::kTruncateMessagePrefix) +
                                          " message at " + m.lsn.ToString() + " is not four zero-ended names");
  }
  OnTruncatedPartition(*applier_, *p);
}

void Worker::OnTruncateRow(Applier& applier, const Relation& rel, const Insert& row) {
  std::vector<std::string> columns;
  std::vector<std::optional<std::string>> values;
  for (size_t i = 0; i < rel.columns.size() && i < row.new_tuple.columns.size(); ++i) {
    columns.push_back(rel.columns[i].name);
    const ColumnValue& v = row.new_tuple.columns[i];
    values.push_back(v.kind == ColumnKind::kText ? std::optional<std::string>(std::string(v.bytes)) : std::nullopt);
  }
  std::optional<control::TruncatedPartition> p = control::TruncatedPartitionOf(columns, values);
  if (!p) {
    throw Error(ErrorKind::kProtocol, "a row of " + pg::TableName{rel.namespace_name, rel.name}.Display() +
                                          " without the four names of a truncated partition");
  }
  OnTruncatedPartition(applier, *p);
}

void Worker::OnTruncatedPartition(Applier& applier, const control::TruncatedPartition& truncated) {
  const control::TruncatedPartition* p = &truncated;
  // Every slot of the database receives the message, whatever its publication: only the set whose tables the
  // partition belongs to applies it (another set would empty the partition at its own stream position, maybe after
  // the owning set applied rows inserted since). Read once per session: a set's publication does not change.
  if (!covered_) {
    covered_ = WithContext("reading the relations of the set's publication on the source", [&] {
      return control::CoveredRelations(SourceConnection(), publication_name_);
    });
  }
  if (!control::Covers(*covered_, *p)) {
    Apply()->debug("set {}: partition {} of {} was truncated on the source; not a table of this set", options_.set_name,
                   p->partition.Display(), p->root.Display());
    return;
  }
  Apply()->info("set {}: partition {} of {} was truncated on the source; truncating it on the target",
                options_.set_name, p->partition.Display(), p->root.Display());
  applier.ApplyPartitionTruncate(p->partition, p->root);
}

void Worker::OnBegin(const Begin& b) {
  if (b.final_lsn >= early_held_before_) early_held_before_ = Lsn{};
  switch (core_->OnBegin(b.final_lsn)) {
    case BeginAction::kStop:
      return;
    case BeginAction::kSkip:
      Apply()->debug("set {}: skipping transaction {} committed at {} (already applied)", options_.set_name,
                     b.xid.value, b.final_lsn.ToString());
      return;
    case BeginAction::kApply:
      last_begin_final_ = b.final_lsn;
      applier_->Begin(b, b.final_lsn > per_change_through_);
      return;
  }
}

void Worker::OnCommit(const Commit& c) {
  // The applier counts the rows of the source transaction it is in; the core only needs the group's total.
  uint64_t before = applier_->group_rows();
  bool applying = core_->applying();
  if (applying) applier_->EndTransaction(c);  // committed on the target later, with its group
  uint64_t rows = applying ? applier_->group_rows() - before : 0;
  core_->OnCommit(c.end_lsn, rows, Clock::now());
}

ApplierOptions Worker::MakeApplierOptions() {
  ApplierOptions o{options_.control_schema, options_.set_name, options_.cdc.synchronous_commit, policy_,
                   suspended_, options_.target,
                   std::to_string(options_.cdc.lock_timeout_seconds) + "s",
                   std::to_string(options_.cdc.statement_timeout_seconds) + "s",
                   [this](std::chrono::milliseconds waited) { WhileTargetWorks(waited); },
                   options_.other_sets_tables, options_.batch_tables,
                   static_cast<uint64_t>(options_.cdc.batch_max_bytes), batch_paused_until_};
  if (options_.cdc.apply_connections >= 2 && !options_.batch_tables.empty()) {
    // Called by the CURRENT apply connection (applier_): the group in flight is spare_'s.
    o.in_flight_footprint = [this](const pg::TableName& table) -> const TableFootprint* {
      return spare_in_flight_ && !waiting_on_spare_ ? spare_->FootprintOf(table) : nullptr;
    };
    o.finish_in_flight = [this] {
      if (!spare_in_flight_ || waiting_on_spare_) return;
      ++in_flight_waits_;
      FinishSpare();
    };
  }
  return o;
}

namespace {

// For the fault tests (docs/testing.md): WALFERRY_CDC_KILL_AT=<point>:<n> ends the process with SIGKILL the n-th time
// it reaches <point>, as a crash there would: `group_sent` (a group in flight on one connection, uncommitted, the next
// one empty), `in_flight_committed` (the group in flight committed, the one after it applied in part and
// uncommitted on the other connection).
void KillPoint(std::string_view point) {
  static const char* at = std::getenv("WALFERRY_CDC_KILL_AT");
  static int reached = 0;
  if (!at) return;
  const std::string_view spec(at);
  const size_t colon = spec.find(':');
  if (spec.substr(0, colon) != point) return;
  if (++reached == (colon == std::string_view::npos ? 1 : std::atoi(at + colon + 1))) kill(getpid(), SIGKILL);
}

}  // namespace

bool Worker::Pipelining() const {
  return options_.cdc.apply_connections >= 2 && !options_.batch_tables.empty() && policy_ == ErrorPolicy::kStop &&
         applier_->replica_role() && !core_->isolating() && !early_ && !stop_.load() &&
         std::chrono::steady_clock::now() >= pipeline_off_until_;
}

void Worker::PipelineGroup() {
  if (!Pipelining()) {
    CommitGroup();
    return;
  }
  FinishSpare();
  const FlightCounts counts{applier_->group_rows(), applier_->group_transactions(),
                            std::exchange(streamed_in_group_, 0)};
  applier_->CloseGroup();
  core_->OnGroupSent();
  if (!spare_) {
    spare_.emplace(pg::Connection::Open(options_.target, {.role = "target",
                                                          .application_name = "walferry_apply_" + options_.set_name}),
                   MakeApplierOptions());
  }
  std::swap(applier_, spare_);
  spare_in_flight_ = true;
  flight_started_ = Clock::now();
  flight_ = counts;
  ++groups_pipelined_;
  KillPoint("group_sent");
}

void Worker::FinishSpare() {
  if (!spare_in_flight_) return;
  const BatchCounters before = spare_->batch_counters();
  const auto commit_start = Clock::now();
  waiting_on_spare_ = true;
  Commit c;
  try {
    c = spare_->FinishGroup();
  } catch (const Error&) {
    waiting_on_spare_ = false;
    failed_in_flight_ = true;
    commit_rejected_ = !spare_->failed_change();
    throw;
  }
  waiting_on_spare_ = false;
  spare_in_flight_ = false;
  core_->OnSentCommitted();
  streamed_applied_ += flight_.streamed;
  Apply()->debug("set {}: group of {} transactions, {} rows committed on the second connection; ms: {} to commit",
                 options_.set_name, flight_.txns, flight_.rows,
                 std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - commit_start).count());
  AddBatchCounters(before, spare_->batch_counters());
  Committed(c, flight_.rows, flight_.txns);
  if (applier_->in_transaction()) KillPoint("in_flight_committed");
}

void Worker::AddBatchCounters(const BatchCounters& before, const BatchCounters& after) {
  batch_total_.changes_netted += after.changes_netted - before.changes_netted;
  batch_total_.net_rows += after.net_rows - before.net_rows;
  batch_total_.batches += after.batches - before.batches;
  batch_total_.flushes += after.flushes - before.flushes;
}

void Worker::CommitGroup() {
  FinishSpare();
  uint64_t rows = applier_->group_rows();
  uint64_t txns = applier_->group_transactions();
  const BatchCounters before = applier_->batch_counters();
  Commit c;
  const auto commit_start = Clock::now();
  try {
    c = applier_->CommitGroup();
  } catch (const Error&) {
    // A deferred constraint (or a failing checkpoint write) refuses the COMMIT itself: no change is to blame.
    commit_rejected_ = !applier_->failed_change();
    throw;
  }
  core_->OnGroupCommitted();
  streamed_applied_ += std::exchange(streamed_in_group_, 0);
  Apply()->debug("set {}: group of {} transactions, {} rows committed; ms: {} since the last commit, {} to commit",
                 options_.set_name, txns, rows,
                 std::chrono::duration_cast<std::chrono::milliseconds>(commit_start - last_group_end_).count(),
                 std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - commit_start).count());
  AddBatchCounters(before, applier_->batch_counters());
  Committed(c, rows, txns);
}

void Worker::Committed(const Commit& last, uint64_t rows, uint64_t txns) {
  last_group_end_ = Clock::now();
  rows_total_ += rows;
  txns_total_ += txns;
  ++groups_total_;
  last_commit_time_ = FormatPgTimestamp(last.commit_time);
  last_commit_time_us_ = last.commit_time;
}

void Worker::Feedback(bool ask_reply) {
  if (core_->unconfirmed()) {
    StatusWriter::TargetWal wal = status_->ReadTargetWal();
    core_->OnTargetWal(wal.insert, wal.flush);
  }
  SendFeedback(ask_reply);
}

void Worker::AnswerPing() {
  // The walsender waits for this answer, and a shutting-down walsender asks again at once until the answer
  // confirms everything it sent (a fast shutdown of the source waits for that). So the answer must carry the
  // newest durable position: probe the target, and when something handled is still not flushed there, flush it
  // with a synchronous status write and probe again. Answering with an old position would only bring the next
  // request at once, and the periodic feedback, whose timer each answer resets, would never come.
  Feedback(false);
  if (core_->unconfirmed()) {
    WriteStatus(core_->caught_up() ? "CAUGHT UP" : "CHANGE PROCESSING");
    Feedback(false);
  }
}

void Worker::CheckSlotPosition() {
  const std::string slot_name = slot_name_;
  std::optional<control::SlotFacts> slot = WithContext("reading the set's slot on the source", [&] {
    return control::ReadSlot(SourceConnection(), slot_name);
  });
  if (!slot) throw Error(ErrorKind::kPrecondition, "slot " + slot_name + " is gone from the source");
  Lsn recorded = status_->ReadRecordedConfirmed();
  const Lsn slot_confirmed = slot->confirmed_lsn.value_or(Lsn{});
  std::optional<Lsn> gap_from = core_->OnSlotPosition(slot_confirmed, recorded);
  if (gap_from) {
    throw Error(ErrorKind::kPrecondition,
                "slot " + slot_name + " on the source was moved to " + slot_confirmed.ToString() +
                    " behind walferry's back: walferry applied to the target up to " + core_->applied().ToString() +
                    " and told the slot at most " + std::max(recorded, core_->confirmed()).ToString() +
                    ", so the source will never send the transactions committed between " + gap_from->ToString() +
                    " and " + slot_confirmed.ToString() + " and the target would silently miss them")
        .WithDetail("something other than this walferry confirmed the slot: pg_replication_slot_advance, another "
                    "walferry configuration with the same set name, or a target restored from a backup older "
                    "than the slot")
        .WithHint("load the set again from a new snapshot: walferry restart --set " + options_.set_name);
  }
  // From here on feedback never reports less than the slot has. Recorded at every start, so the row exists from
  // the first session on (a set that ran before walferry recorded it reads its status row instead until then).
  status_->RecordConfirmed(core_->confirmed());
  core_->OnRecorded(core_->confirmed());
}

void Worker::SendRecord() {
  if (std::optional<Lsn> r = core_->ToRecord(); r && status_) {
    status_->RecordConfirmed(*r);
    core_->OnRecorded(*r);
  }
}

void Worker::SendFeedback(bool ask_reply) {
  // The position goes to the control schema first: a slot found past it at the next start was moved by someone
  // else (CheckSlotPosition).
  SendRecord();
  Lsn confirmed = std::min(core_->confirmed(), core_->recorded());
  repl_->SendStatus(std::max(core_->received(), confirmed), confirmed, confirmed, ask_reply);
  last_feedback_ = std::chrono::steady_clock::now();
}

void Worker::ConfirmAllApplied() {
  auto deadline = std::chrono::steady_clock::now() + kFinalConfirmWait;
  Feedback(false);  // prices what was applied (the target's insert position is now past its commits)
  if (core_->unconfirmed()) {
    // A synchronous status write flushes the target's WAL through every apply commit before it.
    WriteStatus(core_->caught_up() ? "CAUGHT UP" : "CHANGE PROCESSING");
    Feedback(false);
  }
  while (core_->unconfirmed() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    Feedback(false);
  }
  if (core_->unconfirmed()) {
    Capture()->warn("set {}: the target has not flushed its WAL past the last commit within {} s; the slot stays at "
                    "{} and the transactions after it will be sent again and skipped",
                    options_.set_name, kFinalConfirmWait.count(), core_->confirmed().ToString());
  }
}

void Worker::EndStaleReader() {
  pg::Connection source =
      pg::Connection::Open(options_.source, {.role = "source", .response_timeout = kResponseTimeout});
  pg::Result r = source.Exec(sql::Get("cdc/end_stale_reader"),
                             {pg::Param(slot_name_),
                              pg::Param(std::to_string(kStaleReader.count()))});
  if (r.rows() == 1) {
    Capture()->warn("set {}: ended walsender {} holding slot {}: its client had not answered for over {} s (a "
                    "connection of an earlier session that broke without closing)",
                    options_.set_name, r.Get(0, 0), slot_name_, kStaleReader.count());
  }
}

void Worker::EndStaleAppliers() {
  std::string name = "walferry_apply_" + options_.set_name;
  std::vector<pg::Param> params = {name, std::to_string(applier_->connection().BackendPid())};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int round = 0;; ++round) {
    pg::Result r = status_->connection().Exec(sql::Get("cdc/end_stale_appliers"), params);
    if (r.rows() == 0) return;  // none left: no other session can commit anything for this set any more
    if (round == 0) {
      Capture()->warn("set {}: ending {} apply session(s) of an earlier connection that broke without closing, "
                      "first pid {}",
                      options_.set_name, r.rows(), r.Get(0, 0));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error(ErrorKind::kConnection, "an earlier apply session of the set (pid " + std::string(r.Get(0, 0)) +
                                              ") did not end within 10 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void Worker::CheckSilence(bool received, std::chrono::steady_clock::duration waited) {
  if (received) {
    silent_for_ = {};
    return;
  }
  auto before = silent_for_;
  silent_for_ += waited;
  if (before < kPingAfter && silent_for_ >= kPingAfter) SendFeedback(true);  // the walsender must answer this
  if (silent_for_ >= kSilenceLimit) {
    throw Error(ErrorKind::kConnection, "no message from the source for " + std::to_string(kSilenceLimit.count()) +
                                            " s, not even an answer to a keepalive request: the connection is "
                                            "taken for lost");
  }
}

pg::Connection& Worker::SourceConnection() {
  if (!heartbeat_conn_) {
    heartbeat_conn_.emplace(
        pg::Connection::Open(options_.source, {.role = "source", .response_timeout = kResponseTimeout}));
  }
  return *heartbeat_conn_;
}

void Worker::CheckSlot() {
  last_slot_check_ = std::chrono::steady_clock::now();
  std::optional<control::SlotFacts> slot = WithContext("checking the set's slot on the source", [&] {
    return control::ReadSlot(SourceConnection(), slot_name_);
  });
  if (!slot) return;  // the session's own read of it fails loudly
  control::SlotLimits limits{.wal_warn_bytes = options_.cdc.wal_warn_bytes};
  const std::string name = slot_name_;
  for (const std::string& w : control::SlotWarnings(name, *slot, std::nullopt, limits)) {
    Capture()->warn("set {}: {}", options_.set_name, w);
  }
}

void Worker::Heartbeat() {
  WithContext("emitting the heartbeat on the source", [&] {
    pg::Result r = SourceConnection().Exec(sql::Get("cdc/heartbeat"), {pg::Param(options_.set_name)});
    Capture()->debug("set {}: heartbeat at {}", options_.set_name, r.Get(0, 0));
  });
  last_heartbeat_ = std::chrono::steady_clock::now();
  want_reply_ = true;
}

void Worker::Periodic() {
  auto now = std::chrono::steady_clock::now();
  if (options_.cdc.heartbeat_seconds > 0 && core_->idle() &&
      now - last_heartbeat_ >= std::chrono::seconds(options_.cdc.heartbeat_seconds)) {
    Heartbeat();
  }
  // Nothing left to apply and a stop position to reach (--until-*, cutover): ask the walsender where it is every
  // read timeout, so that passing the position is noticed within ~kReadTimeout, not the feedback interval (each
  // second of it is downtime in a cutover).
  const bool awaiting_stop = core_->idle() && core_->stop_at().has_value();
  if (now - last_feedback_ >= kFeedbackInterval || want_reply_ ||
      (awaiting_stop && now - last_feedback_ >= kReadTimeout)) {
    Feedback(want_reply_ || awaiting_stop);
    want_reply_ = false;
  }
  if (now - last_status_ >= options_.status_interval) {
    WriteStatus(core_->caught_up() ? "CAUGHT UP" : "CHANGE PROCESSING");
    if (status_) FollowCutover();
  }
  if (now - last_slot_check_ >= kSlotCheckInterval) CheckSlot();
  if (expiry_backlog_ || now - last_expiry_ >= kExpiryInterval) ExpireExceptions();
}

void Worker::ExpireExceptions() {
  last_expiry_ = std::chrono::steady_clock::now();
  expiry_backlog_ = false;
  if (!status_ || options_.apply_exceptions_retention.count() <= 0) return;
  try {
    int64_t n = control::ExpireRows(status_->connection(), options_.control_schema, control::Retained::kApplyExceptions,
                                    options_.set_name, options_.apply_exceptions_retention);
    expiry_backlog_ = n == control::kExpireBatch;
    if (n > 0) {
      Apply()->info("set {}: removed {} apply exceptions older than {} (retention.apply_exceptions){}",
                    options_.set_name, n,
                    config::FormatDuration(static_cast<int>(options_.apply_exceptions_retention.count())),
                    expiry_backlog_ ? "; more follow" : "");
    }
  } catch (const Error& e) {
    Apply()->warn("set {}: old apply exceptions were not removed: {}", options_.set_name, e.what());
  }
}

void Worker::WriteStatus(const std::string& state, const std::string& error) {
  if (!status_) return;
  auto now = std::chrono::steady_clock::now();
  double secs = std::chrono::duration<double>(now - last_status_).count();
  StatusSnapshot s;
  s.task_status = state;
  s.source_current_position = core_->received();
  s.source_current_timestamp = last_send_time_ ? FormatPgTimestamp(last_send_time_) : "";
  s.source_tail_position = core_->confirmed();
  s.source_timestamp_applied = last_commit_time_;
  s.applied_lsn = core_->applied();
  if (core_->caught_up()) {
    s.latency_seconds = 0.0;
  } else if (last_commit_time_us_ != 0) {
    s.latency_seconds = static_cast<double>(pg::PgNow() - last_commit_time_us_) / 1e6;
  }
  s.pending_bytes = core_->received().BytesSince(core_->handled());
  uint64_t rows = rows_total_;
  s.rows_per_second = secs > 0 && last_status_.time_since_epoch().count() != 0
                          ? static_cast<double>(rows - rows_at_last_status_) / secs
                          : 0;
  s.last_error = error;
  s.changes_applied = rows;
  s.transactions_applied = txns_total_;
  s.groups_applied = groups_total_;
  s.retries = retries_total_;
  s.batches = batch_total_.batches;
  s.rows_collapsed = batch_total_.changes_netted - std::min(batch_total_.changes_netted, batch_total_.net_rows);
  s.batch_replays = batch_replays_;
  s.last_batch_replay = last_replay_;
  s.batches_pipelined = groups_pipelined_;
  s.pipeline_waits = in_flight_waits_;
  s.streamed_applied = streamed_applied_;
  s.streamed_early = streamed_early_;
  s.early_stopped = early_stopped_;
  s.streamed_aborted = streamed_aborted_;
  status_->Write(s);
  rows_at_last_status_ = rows;
  last_status_ = now;
}

}  // namespace walferry::cdc
