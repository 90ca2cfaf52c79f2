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

std::optional<Lsn> WaitForCheckpoint(control::ControlSchema& control, const std::string& set_name, Lsn lsn,
                                     std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool logged = false;
  for (;;) {
    std::optional<Lsn> applied = control.GetCheckpoint(set_name);
    if (!applied || *applied >= lsn) return applied;
    if (!logged) {
      log::For("validate")->info("set {}: waiting until CDC has applied source position {} (applied: {})", set_name,
                                 lsn.ToString(), applied->ToString());
      logged = true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error(ErrorKind::kTimeout, "set " + set_name + ": CDC did not apply past source position " +
                                           lsn.ToString() + " within " + std::to_string(timeout.count() / 1000) +
                                           " s (applied: " + applied->ToString() + ")")
          .WithHint("is `walferry cdc` running for this set? On an idle source the checkpoint only moves with "
                    "cdc.heartbeat_seconds set; raise --wait-seconds or stop CDC to compare a quiet target");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace walferry::validate
