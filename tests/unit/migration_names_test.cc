// control::SlotName / PublicationName (control/control_schema.h): unique per migration (source database and
// migration id), at most 63 bytes of [a-z0-9_], stable, and the old walferry_<set> without a migration id.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "control/control_schema.h"

namespace walferry::control {
namespace {

bool ValidSlotName(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

TEST(MigrationNames, WithoutAMigrationIdTheNamesAreAsBefore) {
  EXPECT_EQ(SlotName({"app", ""}, "set_1"), "walferry_set_1");
  EXPECT_EQ(PublicationName({"other", ""}, "set_1"), "walferry_set_1");
}

TEST(MigrationNames, DifferPerSourceDatabaseAndMigrationIdAndAreStable) {
  const std::string a = SlotName({"app", "3f9a2c1b0d4e"}, "set_1");
  EXPECT_EQ(a, SlotName({"app", "3f9a2c1b0d4e"}, "set_1")) << "found again by every later command";
  EXPECT_EQ(a, "walferry_" + a.substr(9, 8) + "_set_1");
  EXPECT_NE(a, SlotName({"billing", "3f9a2c1b0d4e"}, "set_1")) << "a walferry.yaml copied for another database";
  EXPECT_NE(a, SlotName({"app", "77aa00bb11cc"}, "set_1")) << "the same database into another target";
  EXPECT_NE(SlotName({"ab", "c"}, "s"), SlotName({"a", "bc"}, "s")) << "the database and the id are kept apart";
  EXPECT_EQ(PublicationName({"app", "3f9a2c1b0d4e"}, "set_1"), a);
}

TEST(MigrationNames, EverySetNameGivesAValidDistinctNameOfAtMost63Bytes) {
  std::set<std::string> seen;
  for (size_t len = 1; len <= 48; ++len) {
    for (char last : {'a', 'b'}) {
      std::string set(len - 1, 'x');
      set += last;
      std::string name = SlotName({"a database name with \"odd\" characters, quite long as well", "id-with_dash"}, set);
      EXPECT_TRUE(ValidSlotName(name)) << name;
      EXPECT_TRUE(seen.insert(name).second) << "two set names, one slot name: " << name;
    }
  }
  // Long set names sharing their first 45 characters stay apart.
  std::string p(45, 'q');
  EXPECT_NE(SlotName({"d", "i"}, p + "abc"), SlotName({"d", "i"}, p + "abd"));
}

}  // namespace
}  // namespace walferry::control
