// control/set_lock.h
//
// One walferry process at a time may load a set: `walferry load`, `migrate` and `restart` hold a session-level
// advisory lock per set on the TARGET database (key: a constant class and hashtext of the set name) for as long
// as they write the set's tables, on a connection of their own. A second process asking for a set that is held is
// refused (Error kPrecondition, exit 2) naming the holder's pid, application, client and start time, and changes
// nothing. The lock ends with its connection, so a killed process never leaves it behind. Not thread-safe.
#pragma once

#include <string>
#include <vector>

#include "pg/connection.h"

namespace walferry::control {

class SetLocks {
 public:
  // Takes the lock of every set in `sets` (without waiting) or throws, holding none.
  SetLocks(const std::string& target_conninfo, const std::vector<std::string>& sets, const std::string& what);

 private:
  pg::Connection conn_;
};

}  // namespace walferry::control
