#include "support/same_objects.h"

#include <gtest/gtest.h>

#include "pg/quote.h"
#include "support/clusters.h"

namespace walferry::test {

std::string SequenceState(pg::Connection& c, const std::string& sequence) {
  return Text(c, "SELECT last_value || '/' || is_called FROM " + sequence);
}

std::string LargeObjectsDigest(pg::Connection& c, bool with_owner) {
  const std::string owner = with_owner ? " || ':' || m.lomowner::regrole::text" : "";
  return Text(c, "SELECT coalesce(string_agg(m.oid::text || ':' || md5(lo_get(m.oid))" + owner +
                     ", ',' ORDER BY m.oid), '') FROM pg_largeobject_metadata m");
}

void ExpectSameObjects(pg::Connection& source, pg::Connection& target, const SameObjects& what,
                       const std::string& when) {
  const std::string at = when.empty() ? "" : when + ": ";
  for (const std::string& table : what.tables) EXPECT_EQ(DiffTable(source, target, table), "") << at << table;
  for (const std::string& seq : what.sequences) {
    EXPECT_EQ(SequenceState(source, seq), SequenceState(target, seq)) << at << seq;
  }
  if (what.large_objects) {
    EXPECT_EQ(LargeObjectsDigest(source, what.large_object_owners), LargeObjectsDigest(target, what.large_object_owners))
        << at << "large objects";
  }
}

void ResetReadOnly(pg::Connection& c, const std::string& db) {
  c.Exec("SET default_transaction_read_only = off");
  c.Exec("ALTER DATABASE " + pg::QuoteIdent(db) + " RESET default_transaction_read_only");
}

}  // namespace walferry::test
