#include "control/set_lock.h"

#include "common/error.h"
#include "sql/sql.h"

namespace walferry::control {

SetLocks::SetLocks(const std::string& target_conninfo, const std::vector<std::string>& sets, const std::string& what)
    : conn_(pg::Connection::Open(target_conninfo, {.role = "target", .application_name = "walferry " + what})) {
  for (const std::string& set : sets) {
    if (conn_.Exec(sql::Get("control/set_lock"), {pg::Param(set)}).GetBool(0, 0)) continue;
    pg::Result r = conn_.Exec(sql::Get("control/set_lock_holder"), {pg::Param(set)});
    std::string holder = r.rows() == 0 ? "another session"
                                       : "process " + std::string(r.Get(0, 0)) + " (application '" +
                                             std::string(r.Get(0, 1)) + "', client " + std::string(r.Get(0, 2)) +
                                             ", connected " + std::string(r.Get(0, 3)) + ")";
    // The connection's end releases the locks already taken.
    throw Error(ErrorKind::kPrecondition, "set " + set + " is being loaded by another walferry process on the "
                                              "target: " + holder)
        .WithDetail("nothing was changed: two loads of one set would copy its tables twice")
        .WithHint("wait for that process to finish (walferry status), or stop it, then run walferry " + what +
                  " again");
  }
}

}  // namespace walferry::control
