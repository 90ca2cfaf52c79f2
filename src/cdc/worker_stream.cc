// Worker: streamed in-progress transactions (pgoutput protocol >= 2; docs/cdc.md "Streaming of large
// transactions"). Every message of a stream block goes to the transaction's spill file (cdc/stream_spill.h). Under
// cdc.streaming: on, the first transaction streamed while no other is being applied early is also applied as it
// arrives, into an open transaction on a second target connection (`early_`), and committed at its Stream Commit
// with the checkpoint; when the early apply has to give up (a failure, a lock conflict with the apply connection,
// a rollback it cannot follow) its connection is closed, which rolls it back, and the transaction is applied from
// its spill file at its commit, as under cdc.streaming: spill.
#include <cstdlib>
#include <utility>

#include "cdc/failure_class.h"
#include "cdc/worker.h"
#include "cdc/worker_parts.h"
#include "sql/sql.h"

namespace walferry::cdc {
namespace {

using worker_parts::Apply;
using worker_parts::kFeedbackInterval;

// The early apply waits this long for a lock (someone else's: the apply connection never holds one it could need,
// see OnStreamStart) before it gives up.
constexpr const char* kEarlyLockTimeout = "5s";
// ... and this long for any one result (a half-open connection, or a statement that runs away).
constexpr std::chrono::seconds kEarlyWaitLimit{60};
// The apply connection waiting this long for a result is checked for waiting on the early apply's locks.
constexpr std::chrono::seconds kEarlyConflictAfter{1};

// The (sub)transaction a message inside a stream block belongs to; nullopt for a message that carries none.
std::optional<Xid> SubxidOf(const Message& m) {
  return std::visit(
      [](const auto& x) -> std::optional<Xid> {
        if constexpr (requires { x.xid; }) {
          if constexpr (std::is_same_v<std::decay_t<decltype(x.xid)>, std::optional<Xid>>) return x.xid;
        }
        return std::nullopt;
      },
      m);
}

// The early apply's connection is gone: the target restarted or shut down, the connection broke, or the backend
// was ended (an operator, idle_in_transaction_session_timeout).
bool ConnectionLost(const Error& e) {
  const std::string& s = e.sqlstate();
  return e.kind() == ErrorKind::kConnection || s.starts_with("08") || s.starts_with("57P");
}

}  // namespace

void Worker::EndSessionOrStopEarly(Error& e, const std::string& reason) {
  // Only the early connection lost, the target still answering: the early apply gives up, as for any failure (a
  // session that ended instead would meet the same end again, e.g. under idle_in_transaction_session_timeout).
  // The whole target gone (the status connection lost too): the session ends, as for a lost apply connection.
  bool target_lost = false;
  if (ConnectionLost(e)) {
    try {
      if (status_) status_->connection().Exec("SELECT 1");
    } catch (const Error&) {
      target_lost = true;
    }
  }
  if (!target_lost) {
    StopEarly(reason);
    return;
  }
  const Xid xid = early_xid_;
  DropEarly();
  e.AddContext("applying transaction " + std::to_string(xid.value) + " while it runs (the session ends; it is sent "
               "again)");
  throw e;
}

void Worker::SpillStreamed(const Message& m, std::string_view payload) {
  if (!stream_xid_) throw Error(ErrorKind::kInternal, "a streamed message outside a stream block");
  const std::optional<Xid> subxid = SubxidOf(m);
  if (!subxid) {
    throw Error(ErrorKind::kProtocol, std::string("a ") + MessageName(m) + " message inside a stream block of "
                                          "transaction " + std::to_string(stream_xid_->value));
  }
  spill_->Append(*stream_xid_, *subxid, payload);
  if (early_ && early_xid_ == *stream_xid_) ApplyEarly(m, *subxid);
}

void Worker::OnStreamStart(const StreamStart& s) {
  spill_->Start(s.xid, s.first_segment);
  stream_xid_ = s.xid;
  bool start_early = s.first_segment && !early_ && !early_off_ &&
                     options_.cdc.streaming == config::CdcSettings::Streaming::kOn &&
                     policy_ != ErrorPolicy::kLogAndContinue;
  if (start_early && early_held_before_.valid()) {
    start_early = false;
    Apply()->info("set {}: transaction {} is streamed while it runs; not applied now: it may be one that an earlier "
                  "session committed after this one asked for the stream (the checkpoint moved to {}), so it is "
                  "skipped or applied from its spill file at its commit",
                  options_.set_name, s.xid.value, early_held_before_.ToString());
  }
  if (!start_early && !(early_ && early_xid_ == s.xid)) return;
  // The apply connection holds the locks of its open group: committed first, so the early apply never waits for
  // them (inside a stream block nothing else is applied; between blocks the group is committed again here).
  FinishSpare();  // the group in flight on the other apply connection, too
  if (core_->group_open()) CommitGroup();
  if (!start_early) return;
  early_xid_ = s.xid;
  try {
    pg::Connection conn = pg::Connection::Open(
        options_.target, {.role = "target", .application_name = "walferry_apply_" + options_.set_name});
    ApplierOptions o{options_.control_schema, options_.set_name, options_.cdc.synchronous_commit, ErrorPolicy::kStop,
                     suspended_, options_.target, kEarlyLockTimeout,
                     std::to_string(options_.cdc.statement_timeout_seconds) + "s",
                     [this](std::chrono::milliseconds waited) { WhileEarlyWaits(waited); }, options_.other_sets_tables};
    early_.emplace(std::move(conn), std::move(o));
    // The commit LSN is known only at Stream Commit; until then failures are never charged to the transaction
    // (the early apply gives up instead, and the spill file's replay is charged).
    early_->Begin(Begin{Lsn{}, 0, s.xid}, /*batch=*/false);
    Apply()->info("set {}: transaction {} is streamed while it runs on the source; applying it now on a second "
                  "target connection, to commit at its commit",
                  options_.set_name, s.xid.value);
  } catch (Error& e) {
    EndSessionOrStopEarly(e, "could not start: " + std::string(e.what()));
  }
}

void Worker::ApplyEarly(const Message& m, Xid subxid) {
  try {
    if (const auto* rel = std::get_if<Relation>(&m)) {
      early_->OnRelation(*rel);
      return;
    }
    if (std::holds_alternative<Type>(m)) return;
    if (const auto* lm = std::get_if<LogicalMessage>(&m)) {
      if (!lm->transactional || lm->prefix != control::kTruncateMessagePrefix) return;
      std::optional<control::TruncatedPartition> p = control::ParseTruncateMessage(lm->content);
      if (!p) throw Error(ErrorKind::kProtocol, "a partition TRUNCATE message that is not four zero-ended names");
      early_->OnSubtransaction(early_xid_, subxid);
      OnTruncatedPartition(*early_, *p);
      return;
    }
    early_->OnSubtransaction(early_xid_, subxid);
    ApplyChange(*early_, m, *decoder_);
  } catch (Error& e) {
    EndSessionOrStopEarly(e, e.what());
  }
}

void Worker::DropEarly() {
  early_.reset();  // closing the connection rolls an open early transaction back
  early_xid_ = Xid{};
}

void Worker::StopEarly(const std::string& reason) {
  const Xid xid = std::exchange(early_xid_, Xid{});
  early_.reset();  // closing the connection rolls the early transaction back
  if (xid.value == 0) return;
  ++early_stopped_;
  Apply()->warn("set {}: transaction {} is not applied while it runs any more ({}); it is applied from its spill "
                "file at its commit",
                options_.set_name, xid.value, reason);
}

void Worker::WhileEarlyWaits(std::chrono::milliseconds waited) {
  // The stream is not read while the early apply waits for its results: keep the walsender answered.
  if (repl_ && std::chrono::steady_clock::now() - last_feedback_ >= kFeedbackInterval) SendFeedback(false);
  if (waited >= kEarlyWaitLimit) {
    throw Error(ErrorKind::kTimeout, "waited " + std::to_string(waited.count() / 1000) +
                                         " s for one result of the early apply");
  }
}

void Worker::CheckEarlyConflict(std::chrono::milliseconds waited) {
  if (!early_ || waited < kEarlyConflictAfter || !status_) return;
  // A target-only constraint or a TRUNCATE can make a transaction applied on the apply connection wait for a lock
  // of the early transaction, which waits for its next stream block: neither would ever go on.
  pg::Result r = status_->connection().Exec(
      sql::Get("cdc/blocked_by"), {pg::Param(std::to_string(applier_->connection().BackendPid())),
                                   pg::Param(std::to_string(early_->connection().BackendPid()))});
  if (r.GetBool(0, 0)) StopEarly("the apply connection waited for one of its locks");
}

void Worker::OnStreamAbort(const StreamAbort& a) {
  const bool known = spill_->Has(a.xid);
  spill_->Abort(a.xid, a.subxid);
  if (early_ && early_xid_ == a.xid) {
    if (a.xid == a.subxid) {
      DropEarly();
    } else {
      try {
        early_->RollbackSubtransaction(a.subxid);
      } catch (Error& e) {
        EndSessionOrStopEarly(e, e.what());
      }
    }
  }
  if (known && a.xid == a.subxid) {
    ++streamed_aborted_;
    Apply()->debug("set {}: streamed transaction {} aborted on the source; its spill file is dropped",
                   options_.set_name, a.xid.value);
  }
}

void Worker::OnStreamCommit(const StreamCommit& c) {
  if (!spill_->Has(c.xid)) {
    throw Error(ErrorKind::kProtocol, "Stream Commit of transaction " + std::to_string(c.xid.value) +
                                          ", which this session never saw a first Stream Start of");
  }
  const bool early = early_ && early_xid_ == c.xid;
  if (c.commit_lsn >= early_held_before_) early_held_before_ = Lsn{};
  // A batch boundary: whatever the open group holds (net rows of batch tables included) commits first; the
  // streamed transaction is applied per change, whatever its tables' apply mode.
  FinishSpare();  // the group in flight on the other apply connection, too
  if (core_->group_open()) CommitGroup();
  switch (core_->OnBegin(c.commit_lsn)) {
    case BeginAction::kStop:
      if (early) DropEarly();  // past the stop position: sent again to the next run
      spill_->Finish(c.xid);
      return;
    case BeginAction::kSkip:
      // Sent again after a restart. Said at info, not debug: its Stream Start may have been logged already.
      Apply()->info("set {}: streamed transaction {} committed at {} is already on the target (committed before {}, "
                    "where this session applies from): skipped{}",
                    options_.set_name, c.xid.value, c.commit_lsn.ToString(), core_->skip_before().ToString(),
                    early ? "; what this session had applied of it while it ran is rolled back" : "");
      if (early) DropEarly();
      spill_->Finish(c.xid);
      core_->OnCommit(c.end_lsn, 0, Clock::now());
      return;
    case BeginAction::kApply:
      break;
  }
  last_begin_final_ = c.commit_lsn;
  if (early && CommitEarly(c)) {
    spill_->Finish(c.xid);
    return;
  }
  const uint64_t spilled = spill_->size(c.xid);
  Apply()->info("set {}: applying streamed transaction {} committed at {} ({} bytes spilled)", options_.set_name,
                c.xid.value, c.commit_lsn.ToString(), spilled);
  applier_->Begin(Begin{c.commit_lsn, c.commit_time, c.xid}, /*batch=*/false);
  // The spilled messages carry the xid of a stream block: a second decoder, put inside one, reads them. It starts
  // from the live decoder's relations (a relation described by a subtransaction that was rolled back is not
  // described again in the same transaction), and the spilled Relation messages replace them in order.
  Decoder replay(decoder_->protocol_version());
  replay.CopyRelationsFrom(*decoder_);
  std::string start(6, '\0');
  start[0] = 'S';
  for (int i = 0; i < 4; ++i) start[1 + i] = static_cast<char>((c.xid.value >> (24 - 8 * i)) & 0xff);
  start[5] = 1;
  replay.Decode(start);
  StreamSpill::Reader reader = spill_->Read(c.xid);
  std::string record;
  uint64_t n = 0;
  while (reader.Next(record)) {
    Dispatch(replay.Decode(record), replay);
    // The stream is not read meanwhile: keep the walsender answered (wal_sender_timeout) on a long replay.
    if (++n % 4096 == 0 && std::chrono::steady_clock::now() - last_feedback_ >= kFeedbackInterval) {
      SendFeedback(false);
    }
  }
  OnCommit(Commit{0, c.commit_lsn, c.end_lsn, c.commit_time});
  ++streamed_in_group_;
}

bool Worker::CommitEarly(const StreamCommit& c) {
  const Commit commit{0, c.commit_lsn, c.end_lsn, c.commit_time};
  uint64_t rows = 0;
  try {
    early_->EndTransaction(commit);
    rows = early_->group_rows();
    early_->CommitGroup();  // with the checkpoint, like any group
  } catch (const Error& e) {
    // The server's own refusal (a SQLSTATE that is not a lost connection or shutdown) or walferry's row-count
    // check: nothing of it committed, so the spill file is replayed on the apply connection, under the error
    // policy. Anything else may have lost the COMMIT's answer: the session ends, and the next one reads the
    // checkpoint to learn whether it committed.
    const FailureClass cls = ClassifyFailure(e);
    const bool refused = (!e.sqlstate().empty() || e.kind() == ErrorKind::kData) && cls != FailureClass::kTransient &&
                         cls != FailureClass::kPermanentConnection;
    if (!refused) {
      DropEarly();
      throw;
    }
    StopEarly(std::string("its commit failed: ") + e.what());
    return false;
  }
  DropEarly();  // committed: closing the connection rolls nothing back
  core_->OnCommit(c.end_lsn, rows, Clock::now());
  core_->OnGroupCommitted();
  ++streamed_applied_;
  ++streamed_early_;
  Committed(commit, rows, 1);
  Apply()->info("set {}: streamed transaction {} committed at {}: its {} rows were applied as they arrived, before its "
                "commit",
                options_.set_name, c.xid.value, c.commit_lsn.ToString(), rows);
  return true;
}

int Worker::ProtocolFor(const pg::ServerFeatures& features) const {
  const char* forced = std::getenv("WALFERRY_PGOUTPUT_PROTOCOL");
  if (forced == nullptr || *forced == '\0') {
    return options_.cdc.streaming == config::CdcSettings::Streaming::kOff ? 1 : features.pgoutput_protocol;
  }
  const std::string text(forced);
  if (text.size() != 1 || text[0] < '1' || text[0] > '4' || text[0] - '0' > features.pgoutput_protocol) {
    throw Error(ErrorKind::kConfig, "WALFERRY_PGOUTPUT_PROTOCOL is '" + text + "'")
        .WithHint("set it to a pgoutput protocol version from 1 to " + std::to_string(features.pgoutput_protocol) +
                  " (the most this source speaks), or unset it to use the source's (docs/cdc.md)");
  }
  return text[0] - '0';
}

}  // namespace walferry::cdc
