#include "validate/snapshot.h"

#include <thread>

#include "common/log.h"
#include "pg/quote.h"
#include "sql/sql.h"

namespace walferry::validate {

void PrepareSession(pg::Connection& conn) {
  WithContext("setting the output format of values on the " + conn.role(),
              [&] { conn.Exec(sql::Get("validate/session")); });
}

SourceSnapshot BeginExportedSnapshot(pg::Connection& source) {
  return WithContext("taking a snapshot of the source", [&] {
    source.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    pg::Result r = source.Exec(sql::Get("validate/snapshot_export"));
    return SourceSnapshot{std::string(r.Get(0, 0)), Lsn::Parse(r.Get(0, 1))};
  });
}

void ImportSnapshot(pg::Connection& source, const std::string& snapshot_name) {
  WithContext("importing source snapshot " + snapshot_name, [&] {
    source.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    // SET TRANSACTION takes no parameters; the name comes from pg_export_snapshot() and is quoted as a literal.
    source.Exec("SET TRANSACTION SNAPSHOT " + pg::QuoteLiteral(snapshot_name));
  });
}

void EndSnapshot(pg::Connection& source) { source.Exec("COMMIT"); }

namespace {

// How many changes committed after `applied` and before `lsn` the set's slot (read by nobody) holds; -1 when CDC
// took the slot meanwhile (it will move the checkpoint).
int64_t PendingChanges(pg::Connection& source, const std::string& slot, const std::string& publication, Lsn lsn,
                       Lsn applied) {
  try {
    pg::Result r = source.Exec(sql::Get("validate/pending_changes"),
                               {pg::Param(slot), pg::Param(lsn.ToString()), pg::Param(publication),
                                pg::Param(applied.ToString())});
    return r.GetInt(0, 0);
  } catch (const Error& e) {
    if (e.sqlstate() == "55006") return -1;  // object_in_use: the slot is active now
    throw;
  }
}

}  // namespace

std::optional<Lsn> WaitForCheckpoint(control::ControlSchema& control, const std::string& source_conninfo,
                                     const std::string& set_name, Lsn lsn, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool logged = false;
  std::optional<pg::Connection> source;
  std::optional<std::chrono::steady_clock::time_point> last_peek;
  int64_t pending = -1;  // changes waiting in a slot nobody reads, as last counted (-1: not counted)
  // The set's slot and publication as its load recorded them (control::SlotName of its migration).
  const std::string slot_name = control.RecordedSlot(set_name).value_or("");
  const std::string publication_name = control.RecordedPublication(set_name).value_or("");
  for (;;) {
    std::optional<Lsn> applied = control.GetCheckpoint(set_name);
    if (!applied || *applied >= lsn) return applied;
    // The slot's confirmed position counts too: the CDC worker confirms past its checkpoint only when it holds no
    // open transaction and the source has sent it everything up to there, i.e. when no change of the set committed
    // before that position is left unapplied. On a quiet set this is what moves.
    if (!source) source.emplace(pg::Connection::Open(source_conninfo, {.role = "source"}));
    pg::Result slot = source->Exec(sql::Get("cdc/slot_info"), {pg::Param(slot_name)});
    if (slot.rows() == 1) {
      if (auto confirmed = slot.GetOpt(0, 0); confirmed && Lsn::Parse(*confirmed) >= lsn) {
        return std::max(*applied, Lsn::Parse(*confirmed));
      }
      // No CDC reads the slot (stopped, e.g. for --repair): nothing moves the checkpoint any more, but when the
      // slot holds no change of the set committed after it and before `lsn`, the target is as of `lsn` already.
      // Decoding is not free: at most once a second.
      bool idle = !slot.GetBool(0, 2);
      if (!idle) pending = -1;
      if (idle && (!last_peek || std::chrono::steady_clock::now() - *last_peek >= std::chrono::seconds(1))) {
        last_peek = std::chrono::steady_clock::now();
        pending = PendingChanges(*source, slot_name, publication_name, lsn, *applied);
      }
      if (idle && pending == 0) {
        log::For("validate")->info("set {}: CDC is not running and no change of the set committed between its "
                                   "checkpoint {} and {} waits in its slot: the target is consistent with {}",
                                   set_name, applied->ToString(), lsn.ToString(), lsn.ToString());
        return lsn;
      }
    }
    if (!logged) {
      log::For("validate")->info("set {}: waiting until CDC has applied source position {} (applied: {})", set_name,
                                 lsn.ToString(), applied->ToString());
      logged = true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error(ErrorKind::kTimeout, "set " + set_name + ": CDC did not apply past source position " +
                                           lsn.ToString() + " within " + std::to_string(timeout.count() / 1000) +
                                           " s (applied: " + applied->ToString() + ")")
          .WithDetail(pending > 0 ? "no process reads the set's slot, and " + std::to_string(pending) +
                                        " change(s) of the set committed after the checkpoint wait in it"
                                  : "")
          .WithHint(pending > 0
                        ? "start `walferry cdc` for this set and validate again; --repair needs the set's CDC "
                          "stopped with nothing left to apply (a quiet set), or use walferry cutover "
                          "--on-difference repair"
                        : "is `walferry cdc` running for this set? Validation compares at a consistent point only "
                          "while CDC runs; raise --wait-seconds, or start CDC and validate again");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // short: re-checks wait here once per round
  }
}

}  // namespace walferry::validate
