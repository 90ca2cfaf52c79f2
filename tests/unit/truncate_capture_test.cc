#include "control/truncate_capture.h"

#include <gtest/gtest.h>

#include <string>

namespace walferry::control {
namespace {

using namespace std::string_literals;

TEST(TruncateCapture, ReadsTheFourNamesOfTheTriggersMessage) {
  auto p = ParseTruncateMessage("sales\0orders_2026\0sales\0Orders \"All\"\0"s);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->partition, (pg::TableName{"sales", "orders_2026"}));
  EXPECT_EQ(p->root, (pg::TableName{"sales", "Orders \"All\""}));
}

TEST(TruncateCapture, KeepsUtf8NamesAsTheyAre) {
  auto p = ParseTruncateMessage("caf\xc3\xa9\0t\xc3\xa4\0r\0p\0"s);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->partition.schema, "caf\xc3\xa9");
  EXPECT_EQ(p->partition.name, "t\xc3\xa4");
}

TEST(TruncateCapture, RefusesAnythingElse) {
  EXPECT_FALSE(ParseTruncateMessage(""));
  EXPECT_FALSE(ParseTruncateMessage("a\0b\0c\0"s)) << "three names";
  EXPECT_FALSE(ParseTruncateMessage("a\0b\0c\0d"s)) << "the last name not ended";
  EXPECT_FALSE(ParseTruncateMessage("a\0b\0c\0d\0e"s)) << "bytes after the fourth name";
  EXPECT_FALSE(ParseTruncateMessage("a\0\0c\0d\0"s)) << "an empty name";
}

}  // namespace
}  // namespace walferry::control
