// lifecycle::FallbackSetName: a valid set name for any database name, the same on every build (cutover names the
// fallback's slot, a later walferry fallback must find it).
#include <gtest/gtest.h>

#include "control/control_schema.h"
#include "lifecycle/fallback.h"

namespace walferry::lifecycle {
namespace {

TEST(FallbackSetName, IsAValidSetNameAndStable) {
  EXPECT_EQ(FallbackSetName("Shop-DB"), "fallback_shop_db");
  const std::string long_name = "TargetWritesReachTheOldSourceExactlyOnce_And_More_Than_39_chars";
  EXPECT_EQ(FallbackSetName(long_name), "fallback_targetwritesreachtheoldsourcee_727f2b1e");
  EXPECT_NE(FallbackSetName(long_name), FallbackSetName(long_name + "x")) << "shortened names stay apart";
  EXPECT_NO_THROW(control::ValidateSetName(FallbackSetName(long_name)));
  EXPECT_NO_THROW(control::ValidateSetName(FallbackSetName("ünïcode name")));
}

}  // namespace
}  // namespace walferry::lifecycle
