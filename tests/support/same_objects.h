// support/same_objects.h
//
// The independent comparison that the cutover and fallback tests end with: source database vs target database,
// tables (test::DiffTable: every row, as bytes), sequences (last_value and is_called, read from the relation, so a
// sequence never called shows too) and large objects (oid and md5 of the contents, optionally the owner). Read by
// the tests' own SQL, never by walferry's validate. Also the undoing of a freeze (a database left read-only for new
// sessions by a cutover or a switch back), which tests do so that later tests write there.
#pragma once

#include <string>
#include <vector>

#include "pg/connection.h"

namespace walferry::test {

// "last_value/is_called" of `sequence` (an SQL name, quoted where needed).
std::string SequenceState(pg::Connection& c, const std::string& sequence);

// Every large object of the database, "oid:md5[:owner]" joined by ',' in oid order ("" when none).
std::string LargeObjectsDigest(pg::Connection& c, bool with_owner = false);

struct SameObjects {
  std::vector<std::string> tables;     // SQL names for test::DiffTable ("ONLY parent" allowed)
  std::vector<std::string> sequences;  // SQL names
  bool large_objects = true;
  bool large_object_owners = false;
};

// EXPECTs that each listed object is the same on both sides; `when` starts every failure message.
void ExpectSameObjects(pg::Connection& source, pg::Connection& target, const SameObjects& what,
                       const std::string& when = "");

// ALTER DATABASE `db` RESET default_transaction_read_only, through `c` (a session of that cluster; it turns its
// own read-only default off first).
void ResetReadOnly(pg::Connection& c, const std::string& db);

}  // namespace walferry::test
