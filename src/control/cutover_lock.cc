#include "control/cutover_lock.h"

#include "common/error.h"
#include "sql/sql.h"

namespace walferry::control {

void TakeMigrationLock(pg::Connection& conn, const std::string& command) {
  if (conn.Exec(sql::Get("control/cutover_lock")).GetBool(0, 0)) return;
  pg::Result r = conn.Exec(sql::Get("control/cutover_lock_holder"));
  std::string holder = r.rows() == 0 ? "a session that has just ended"
                                     : "process " + std::string(r.Get(0, 0)) + " (application '" +
                                           std::string(r.Get(0, 1)) + "', client " + std::string(r.Get(0, 2)) +
                                           ", connected " + std::string(r.Get(0, 3)) + ")";
  throw Error(ErrorKind::kPrecondition, "another walferry command holds the migration's lock on the target: " + holder)
      .WithDetail("nothing was changed: walferry cutover, cutover --abort, restart, reset and fallback --switch-back "
                  "run one at a time")
      .WithHint("wait until that command has finished (or stop it), then run " + command + " again");
}

}  // namespace walferry::control
