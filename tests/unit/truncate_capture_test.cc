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

// Every slot of the database receives every partition-truncate message: a set applies only those about its own
// tables, by the root the message names (as it was when the partition was truncated) or the partition itself
// (a sub-partitioned table listed in the set below another set's root).
TEST(TruncateCapture, ASetOwnsAPartitionWhoseRootOrItselfItsPublicationCovers) {
  std::set<pg::TableName> covered = {{"public", "tab3"}, {"public", "tab3_0"}, {"s", "p3"}, {"s", "p3a"}};
  EXPECT_TRUE(Covers(covered, {{"public", "tab3_0"}, {"public", "tab3"}}));
  EXPECT_TRUE(Covers(covered, {{"public", "tab3_new"}, {"public", "tab3"}})) << "attached after the list was read";
  EXPECT_TRUE(Covers(covered, {{"s", "p3a"}, {"s", "p"}})) << "its root is another set's";
  EXPECT_FALSE(Covers(covered, {{"public", "m1"}, {"public", "m"}})) << "another set's table";
  EXPECT_FALSE(Covers(covered, {{"other", "tab3_0"}, {"other", "tab3"}})) << "same names, another schema";
  EXPECT_FALSE(Covers({}, {{"public", "tab3_0"}, {"public", "tab3"}}));
}

}  // namespace
}  // namespace walferry::control
