// validate::SequenceBehind: whether a target sequence's next value could repeat one the source handed out, for
// values beyond bigint (last_value + increment at the type's end) and descending sequences.
#include <gtest/gtest.h>

#include "common/error.h"
#include "validate/database_objects.h"

namespace walferry::validate {
namespace {

TEST(SequenceBehind, AscendingTargetBelowSourceIsBehind) {
  EXPECT_TRUE(SequenceBehind("101", "1", true));
  EXPECT_TRUE(SequenceBehind("101", "100", true));
  EXPECT_FALSE(SequenceBehind("101", "101", true));
  EXPECT_FALSE(SequenceBehind("101", "5000", true));  // ahead: a gap, not a difference
  EXPECT_TRUE(SequenceBehind("10", "9", true));        // compared as numbers, not as text ("9" > "10")
  EXPECT_FALSE(SequenceBehind("9", "10", true));
}

TEST(SequenceBehind, DescendingTargetAboveSourceIsBehind) {
  EXPECT_TRUE(SequenceBehind("-10", "-1", false));
  EXPECT_FALSE(SequenceBehind("-10", "-10", false));
  EXPECT_FALSE(SequenceBehind("-10", "-11", false));
  EXPECT_TRUE(SequenceBehind("-1", "5", false));
}

TEST(SequenceBehind, NegativeZeroLeadingZerosAndValuesBeyondBigint) {
  EXPECT_FALSE(SequenceBehind("0", "-0", true));
  EXPECT_FALSE(SequenceBehind("007", "7", true));
  EXPECT_TRUE(SequenceBehind("9223372036854775808", "9223372036854775807", true));
  EXPECT_FALSE(SequenceBehind("9223372036854775807", "9223372036854775808", true));
  EXPECT_TRUE(SequenceBehind("-5", "-6", true));
  EXPECT_FALSE(SequenceBehind("-6", "-5", true));
}

TEST(SequenceBehind, NotANumberIsAnInternalError) {
  EXPECT_THROW(SequenceBehind("12a", "1", true), Error);
  EXPECT_THROW(SequenceBehind("1", "", true), Error);
  EXPECT_THROW(SequenceBehind("-", "1", true), Error);
}

}  // namespace
}  // namespace walferry::validate
