#include "cdc/worker.h"

#include <algorithm>
#include <thread>

#include "common/log.h"
#include "control/control_schema.h"
#include "pg/conninfo.h"
#include "sql/sql.h"

namespace walferry::cdc {
namespace {

std::shared_ptr<spdlog::logger> Capture() { return log::For("source_capture"); }
std::shared_ptr<spdlog::logger> Apply() { return log::For("target_apply"); }

constexpr std::chrono::milliseconds kReadTimeout{200};
constexpr std::chrono::seconds kFeedbackInterval{1};
// A group of source transactions is committed on the target as soon as the stream has nothing more buffered, or
// when it reaches one of these bounds (so a steady backlog still commits, and confirms, regularly).
// Not larger: inside one target transaction a row updated again and again keeps every version (none can be pruned
// before the commit), so each later lookup of it gets slower; bench/cdc.sh was fastest around 100-200.
constexpr uint64_t kGroupMaxTransactions = 100;
constexpr uint64_t kGroupMaxRows = 20000;
constexpr std::chrono::milliseconds kGroupMaxAge{500};

}  // namespace

Worker::Worker(WorkerOptions options, const std::atomic<bool>& stop)
    : options_(std::move(options)), policy_(ParseErrorPolicy(options_.cdc.error_policy)), stop_(stop) {}

void Worker::Prepare() {
  pg::Connection target = pg::Connection::Open(options_.target, {.role = "target"});
  control::ControlSchema cs(target, options_.control_schema);
  cs.Ensure();  // also the suspended_tables of the suspend-table error policy
  auto set = cs.GetSet(options_.set_name);
  Lsn start = options_.start_lsn.value_or(Lsn{});
  if (!set || !set->start_lsn.valid()) {
    if (!options_.start_lsn) {
      throw Error(ErrorKind::kPrecondition, "set '" + options_.set_name + "' has no CDC start position")
          .WithHint("run walferry load first, or pass --start-lsn LSN when the data was loaded another way");
    }
    cs.UpsertSet({options_.set_name, control::SlotName(options_.set_name), control::PublicationName(options_.set_name),
                  "", start, set ? set->load_state : "loaded"});
  } else {
    start = std::max(start, set->start_lsn);
  }
  applied_lsn_ = cs.GetCheckpoint(options_.set_name).value_or(Lsn{});
  skip_before_ = std::max(applied_lsn_, start);
  confirmed_lsn_ = skip_before_;
  if (options_.dms_compatible_views) StatusWriter(std::move(target), options_.control_schema, "").CreateDmsViews();
  stop_at_ = options_.until_lsn;
  if (options_.until_caught_up) {
    pg::Connection source = pg::Connection::Open(options_.source, {.role = "source"});
    Lsn now = Lsn::Parse(source.Exec("SELECT pg_current_wal_insert_lsn()::text").Get(0, 0));
    stop_at_ = stop_at_ ? std::min(*stop_at_, now) : now;
  }
  Capture()->info("set {}: starting after {} (checkpoint {}){}", options_.set_name, skip_before_.ToString(),
                  applied_lsn_.valid() ? applied_lsn_.ToString() : "none",
                  stop_at_ ? ", stopping at " + stop_at_->ToString() : "");
}

WorkerOutcome Worker::Run() {
  Prepare();
  int failures = 0;
  while (true) {
    try {
      SessionEnd end = RunSession();
      std::string state = end == SessionEnd::kReachedStop ? "CAUGHT UP" : "STOPPED";
      WriteStatus(state);
      Apply()->info("set {}: {}: {} rows of {} source transactions applied in {} target transactions; checkpoint {}",
                    options_.set_name, state, rows_total_, txns_total_, groups_total_, applied_lsn_.ToString());
      return {state, applied_lsn_, rows_total_, ""};
    } catch (const Error& e) {
      // A change that failed because the server went away (shutdown, terminated backend: 57P*, 08*) is not the
      // change's fault: retried like any connection failure, never recorded as an apply exception.
      std::optional<FailedChange> failed =
          applier_ && !Retriable(e) ? applier_->failed_change() : std::nullopt;
      // The rejected change shared its target transaction with earlier source transactions: replay them one
      // target transaction each, so they commit and the failure is reported at exactly the transaction it is in.
      bool isolate = failed && applier_->in_transaction() && applier_->group_first_lsn() != failed->txn_final_lsn &&
                     isolate_through_ != failed->txn_final_lsn && !stop_.load();
      repl_.reset();
      applier_.reset();
      heartbeat_conn_.reset();  // closing the connection rolls back an open target transaction
      in_txn_ = skipping_ = false;
      if (applied_since_reconnect_) failures = 0;
      if (isolate) {
        isolate_through_ = failed->txn_final_lsn;
        Apply()->info("set {}: a change of the transaction committed at {} was rejected; replaying the transactions "
                      "before it one target transaction each",
                      options_.set_name, failed->txn_final_lsn.ToString());
        continue;
      }
      if (failed && policy_ == ErrorPolicy::kSuspendTable && !stop_.load()) {
        bool suspended = false;
        try {
          suspended = Suspend(*failed, e.what());
        } catch (const Error& e2) {
          Apply()->error("set {}: could not suspend {}: {}", options_.set_name, failed->table.Display(), e2.what());
        }
        if (suspended) continue;  // replay the transaction: the table's changes are now recorded, not applied
      }
      if (!failed && Retriable(e) && failures < options_.cdc.max_retries && !stop_.load()) {
        ++failures;
        Capture()->warn("set {}: {} (retry {} of {})", options_.set_name, e.what(), failures,
                        options_.cdc.max_retries);
        Backoff(failures);
        continue;
      }
      std::string reason = e.what();
      if (!failed && Retriable(e)) reason += " (gave up after " + std::to_string(failures) + " retries)";
      Apply()->error("set {}: FAILED: {}", options_.set_name, reason);
      try {
        status_.reset();
        status_.emplace(pg::Connection::Open(options_.target, {.role = "target"}), options_.control_schema,
                        options_.set_name);
        if (failed) status_->RecordException(failed->table, failed->statement, reason);
        WriteStatus("FAILED", reason);
      } catch (const Error& e2) {
        Apply()->error("set {}: could not record the failure on the target: {}", options_.set_name, e2.what());
      }
      return {"FAILED", applied_lsn_, rows_total_, reason};
    }
  }
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

bool Worker::Retriable(const Error& e) const {
  if (e.kind() == ErrorKind::kConnection || e.kind() == ErrorKind::kTimeout) return true;
  const std::string& s = e.sqlstate();
  // Operator intervention (server shutting down or restarting), connection exceptions, serialization failures.
  return s.starts_with("57P") || s.starts_with("08") || s == "40001" || s == "40P01" || s == "55006";
}

void Worker::Backoff(int attempt) {
  auto wait = std::chrono::milliseconds(std::min<int64_t>(30000, 500LL << std::min(attempt, 10)));
  auto until = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < until && !stop_.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Worker::SessionEnd Worker::RunSession() {
  applied_since_reconnect_ = false;
  status_.emplace(pg::Connection::Open(options_.target, {.role = "target"}), options_.control_schema,
                  options_.set_name);
  std::set<std::pair<std::string, std::string>> suspended;
  {
    // A commit whose result was lost (connection dropped during COMMIT) is resolved here: the checkpoint says.
    pg::Connection t = pg::Connection::Open(options_.target, {.role = "target"});
    Lsn cp = control::ControlSchema(t, options_.control_schema).GetCheckpoint(options_.set_name).value_or(Lsn{});
    if (cp != applied_lsn_) {
      Apply()->info("set {}: checkpoint is {} (the last commit in doubt {})", options_.set_name, cp.ToString(),
                    cp > applied_lsn_ ? "did commit" : "did not commit");
    }
    applied_lsn_ = cp;
    skip_before_ = std::max(skip_before_, cp);
    confirmed_lsn_ = std::max(confirmed_lsn_, skip_before_);
    suspended = LoadSuspended(t);
  }
  // Named so an operator (and the fault tests) can tell the apply backend in pg_stat_activity.
  applier_.emplace(pg::Connection::Open(options_.target,
                                        {.role = "target", .application_name = "walferry_apply_" + options_.set_name}),
                   ApplierOptions{options_.control_schema, options_.set_name, options_.cdc.synchronous_commit, policy_,
                                  std::move(suspended), options_.target});
  decoder_.emplace(1);
  repl_.emplace(pg::ReplicationConnection::Open(options_.source, "source"));
  repl_->connection().Exec("SET datestyle = 'ISO'; SET intervalstyle = 'postgres'; SET extra_float_digits = 3");
  repl_->StartLogical(control::SlotName(options_.set_name), skip_before_,
                      {{"proto_version", "1"}, {"publication_names", control::PublicationName(options_.set_name)}});
  Capture()->info("set {}: streaming from slot {} at {}", options_.set_name, control::SlotName(options_.set_name),
                  skip_before_.ToString());
  WriteStatus("CHANGE PROCESSING");
  while (true) {
    if (GroupDue()) CommitGroup();
    if (idle() && stop_.load()) return SessionEnd::kStopRequested;
    if (reached_stop_ || (idle() && stop_at_ && confirmed_lsn_ >= *stop_at_)) return SessionEnd::kReachedStop;
    // With a group open, only what has already arrived is read: when nothing has, the group is committed now.
    const bool group = applier_->group_open();
    std::optional<pg::StreamMessage> msg = repl_->Read(group ? std::chrono::milliseconds(0) : kReadTimeout);
    if (!msg && group && !in_txn_) {
      CommitGroup();
      continue;
    }
    if (msg) {
      if (auto* d = std::get_if<pg::XLogData>(&*msg)) {
        received_lsn_ = std::max(received_lsn_, d->wal_end);
        last_send_time_ = d->send_time;
        WithContext("at source LSN " + d->wal_start.ToString(), [&] { OnPayload(d->payload); });
      } else if (auto* k = std::get_if<pg::Keepalive>(&*msg)) {
        received_lsn_ = std::max(received_lsn_, k->wal_end);
        last_send_time_ = k->send_time;
        // Between transactions everything before wal_end was sent and handled: nothing there needs applying.
        if (idle()) confirmed_lsn_ = std::max(confirmed_lsn_, k->wal_end);
        if (k->reply_requested) SendFeedback(false);
      } else {
        throw Error(ErrorKind::kConnection, "the source ended the replication stream");
      }
    }
    Periodic(false);
  }
}

void Worker::OnPayload(std::string_view payload) {
  Message m = decoder_->Decode(payload);
  std::visit(
      [&](auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Begin>) {
          OnBegin(x);
        } else if constexpr (std::is_same_v<T, Commit>) {
          OnCommit(x);
        } else if constexpr (std::is_same_v<T, Relation>) {
          applier_->OnRelation(x);
        } else if constexpr (std::is_same_v<T, Insert> || std::is_same_v<T, Update> || std::is_same_v<T, Delete>) {
          if (!skipping_) applier_->Apply(*decoder_->FindRelation(x.relation_id), x);
        } else if constexpr (std::is_same_v<T, Truncate>) {
          if (skipping_) return;
          std::vector<const Relation*> rels;
          for (RelationId id : x.relation_ids) {
            const Relation* r = decoder_->FindRelation(id);
            if (!r) throw Error(ErrorKind::kProtocol, "TRUNCATE of relation " + std::to_string(id.value) + " never described");
            rels.push_back(r);
          }
          applier_->Apply(rels, x);
        } else if constexpr (std::is_same_v<T, Type> || std::is_same_v<T, Origin> ||
                             std::is_same_v<T, LogicalMessage>) {
          // Type descriptions, origins and logical messages carry nothing to apply.
        } else {
          throw Error(ErrorKind::kProtocol, std::string("unexpected ") + MessageName(m) + " message under protocol 1");
        }
      },
      m);
}

void Worker::OnBegin(const Begin& b) {
  if (in_txn_) throw Error(ErrorKind::kProtocol, "Begin inside an open transaction");
  if (stop_at_ && b.final_lsn >= *stop_at_ && !(b.final_lsn < skip_before_)) {
    reached_stop_ = true;  // committed at or after the stop position: left for the next run
    return;
  }
  in_txn_ = true;
  skipping_ = b.final_lsn < skip_before_;
  if (skipping_) {
    Apply()->debug("set {}: skipping transaction {} committed at {} (already applied)", options_.set_name,
                   b.xid.value, b.final_lsn.ToString());
    return;
  }
  applier_->Begin(b);
}

void Worker::OnCommit(const Commit& c) {
  if (!in_txn_) {
    if (reached_stop_) return;
    throw Error(ErrorKind::kProtocol, "Commit without Begin");
  }
  if (!skipping_) {
    if (!applier_->group_open()) group_started_ = std::chrono::steady_clock::now();
    applier_->EndTransaction(c);  // committed on the target later, with its group (RunSession)
  } else if (!applier_->group_open()) {
    confirmed_lsn_ = std::max(confirmed_lsn_, c.end_lsn);  // already on the target, nothing uncommitted before it
  }
  in_txn_ = skipping_ = false;
}

bool Worker::GroupDue() const {
  if (!applier_->group_open() || in_txn_) return false;
  return stop_.load() || reached_stop_ || (isolate_through_ && applied_lsn_ <= *isolate_through_) ||
         applier_->group_transactions() >= kGroupMaxTransactions || applier_->group_rows() >= kGroupMaxRows ||
         std::chrono::steady_clock::now() - group_started_ >= kGroupMaxAge;
}

void Worker::CommitGroup() {
  uint64_t rows = applier_->group_rows();
  uint64_t txns = applier_->group_transactions();
  Commit c = applier_->CommitGroup();
  rows_total_ += rows;
  txns_total_ += txns;
  ++groups_total_;
  applied_lsn_ = c.end_lsn;
  last_commit_time_ = FormatPgTimestamp(c.commit_time);
  last_commit_time_us_ = c.commit_time;
  applied_since_reconnect_ = true;
  confirmed_lsn_ = std::max(confirmed_lsn_, c.end_lsn);
}

void Worker::SendFeedback(bool ask_reply) {
  repl_->SendStatus(std::max(received_lsn_, confirmed_lsn_), confirmed_lsn_, confirmed_lsn_, ask_reply);
  last_feedback_ = std::chrono::steady_clock::now();
}

void Worker::Heartbeat() {
  WithContext("emitting the heartbeat on the source", [&] {
    if (!heartbeat_conn_) heartbeat_conn_.emplace(pg::Connection::Open(options_.source, {.role = "source"}));
    pg::Result r = heartbeat_conn_->Exec(sql::Get("cdc/heartbeat"), {pg::Param(options_.set_name)});
    Capture()->debug("set {}: heartbeat at {}", options_.set_name, r.Get(0, 0));
  });
  last_heartbeat_ = std::chrono::steady_clock::now();
  want_reply_ = true;
}

void Worker::Periodic(bool force_status) {
  auto now = std::chrono::steady_clock::now();
  if (options_.cdc.heartbeat_seconds > 0 && idle() &&
      now - last_heartbeat_ >= std::chrono::seconds(options_.cdc.heartbeat_seconds)) {
    Heartbeat();
  }
  if (now - last_feedback_ >= kFeedbackInterval || want_reply_) {
    SendFeedback(want_reply_ || (idle() && stop_at_.has_value()));
    want_reply_ = false;
  }
  if (force_status || now - last_status_ >= options_.status_interval) {
    WriteStatus(idle() && confirmed_lsn_ >= received_lsn_ ? "CAUGHT UP" : "CHANGE PROCESSING");
  }
}

void Worker::WriteStatus(const std::string& state, const std::string& error) {
  if (!status_) return;
  auto now = std::chrono::steady_clock::now();
  double secs = std::chrono::duration<double>(now - last_status_).count();
  StatusSnapshot s;
  s.task_status = state;
  s.source_current_position = received_lsn_;
  s.source_current_timestamp = last_send_time_ ? FormatPgTimestamp(last_send_time_) : "";
  s.source_tail_position = confirmed_lsn_;
  s.source_timestamp_applied = last_commit_time_;
  s.applied_lsn = applied_lsn_;
  bool caught_up = idle() && confirmed_lsn_ >= received_lsn_;
  if (caught_up) {
    s.latency_seconds = 0.0;
  } else if (last_commit_time_us_ != 0) {
    s.latency_seconds = static_cast<double>(pg::PgNow() - last_commit_time_us_) / 1e6;
  }
  s.pending_bytes = received_lsn_.BytesSince(confirmed_lsn_);
  uint64_t rows = rows_total_;
  s.rows_per_second = secs > 0 && last_status_.time_since_epoch().count() != 0
                          ? static_cast<double>(rows - rows_at_last_status_) / secs
                          : 0;
  s.last_error = error;
  status_->Write(s);
  rows_at_last_status_ = rows;
  last_status_ = now;
}

}  // namespace walferry::cdc
