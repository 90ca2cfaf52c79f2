// lifecycle::FallbackSetName: a valid set name for any database name, the same on every build (cutover names the
// fallback's slot, a later walferry fallback must find it), and different for two sources into one target database.
#include <gtest/gtest.h>

#include "control/control_schema.h"
#include "lifecycle/fallback.h"

namespace walferry::lifecycle {
namespace {

TEST(FallbackSetName, IsAValidSetNameAndStable) {
  const SourceIdentity shop{"7301234567890123456", "shop"};
  EXPECT_EQ(FallbackSetName("Shop-DB", shop), "fallback_shop_db_e71215ca");
  const std::string long_name = "TargetWritesReachTheOldSourceExactlyOnce_And_More_Than_39_chars";
  EXPECT_EQ(FallbackSetName(long_name, shop).size(), 48u);
  EXPECT_NE(FallbackSetName(long_name, shop), FallbackSetName(long_name + "x", shop)) << "shortened names stay apart";
  EXPECT_NO_THROW(control::ValidateSetName(FallbackSetName(long_name, shop)));
  EXPECT_NO_THROW(control::ValidateSetName(FallbackSetName("ünïcode name", shop)));
}

// Two sources into one target database: one fallback slot each (the slot name is cluster-wide on the target).
TEST(FallbackSetName, TellsTwoSourcesIntoOneTargetDatabaseApart) {
  const std::string a = FallbackSetName("shop", {"7301234567890123456", "shop"});
  EXPECT_NE(a, FallbackSetName("shop", {"7301234567890123456", "shop_eu"})) << "another database of the cluster";
  EXPECT_NE(a, FallbackSetName("shop", {"7309999999999999999", "shop"})) << "the same database name elsewhere";
  EXPECT_NE(FallbackSetName("shop", {"7301234567890123456", "ab"}), FallbackSetName("shop", {"730123456789012345", "6ab"}))
      << "the identity's parts cannot run into each other";
}

}  // namespace
}  // namespace walferry::lifecycle
