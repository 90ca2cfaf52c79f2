#include "common/lsn.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace walferry {
namespace {

TEST(Lsn, ParsesAndFormatsBothHalves) {
  Lsn lsn = Lsn::Parse("16/B374D848");
  EXPECT_EQ(lsn.value(), (uint64_t{0x16} << 32) | 0xB374D848u);
  EXPECT_EQ(lsn.ToString(), "16/B374D848");
  EXPECT_EQ(Lsn::Parse("0/0").ToString(), "0/0");
  EXPECT_EQ(Lsn::Parse("ffffffff/ffffffff").value(), UINT64_MAX);
  EXPECT_EQ(Lsn::Parse("0/1a2b").ToString(), "0/1A2B");
}

TEST(Lsn, RejectsMalformedText) {
  for (const char* bad : {"", "/", "1/", "/1", "16B374D848", "g/1", "1/2/3", "123456789/0", "1 /2", "-1/2"}) {
    EXPECT_FALSE(Lsn::TryParse(bad).has_value()) << bad;
    EXPECT_THROW(Lsn::Parse(bad), Error) << bad;
  }
}

TEST(Lsn, ComparesAndMeasuresDistance) {
  Lsn a = Lsn::Parse("0/100");
  Lsn b = Lsn::Parse("1/0");
  EXPECT_LT(a, b);
  EXPECT_EQ(b.BytesSince(a), 0x100000000ull - 0x100);
  EXPECT_EQ(a.BytesSince(b), 0u);
  EXPECT_FALSE(Lsn().valid());
  EXPECT_TRUE(a.valid());
}

}  // namespace
}  // namespace walferry
