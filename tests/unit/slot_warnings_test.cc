#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/size.h"
#include "control/set_status.h"

namespace walferry::control {
namespace {

constexpr int64_t kGB = int64_t{1} << 30;

SlotFacts Slot(int64_t retained, bool active = true) {
  SlotFacts s;
  s.retained_wal_bytes = retained;
  s.active = active;
  s.wal_status = "reserved";
  return s;
}

TEST(SlotWarnings, NoneForAHealthySlotThatIsRead) {
  EXPECT_TRUE(SlotWarnings("walferry_a", Slot(kGB), std::nullopt, {}).empty());
  EXPECT_TRUE(SlotWarnings("walferry_a", Slot(10 * kGB), std::nullopt, {}).empty()) << "at the limit, not above";
}

TEST(SlotWarnings, RetainedWalAboveTheLimit) {
  auto w = SlotWarnings("walferry_a", Slot(10 * kGB + 1), std::nullopt, {});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("slot walferry_a retains 10.0 GB of WAL"), std::string::npos) << w[0];
  EXPECT_NE(w[0].find("warning above 10.0 GB"), std::string::npos) << w[0];
  EXPECT_EQ(SlotWarnings("walferry_a", Slot(600 << 20), std::nullopt, {.wal_warn_bytes = 512 << 20}).size(), 1u);
}

TEST(SlotWarnings, MaxSlotWalKeepSizeAboutToInvalidateOrLost) {
  SlotFacts s = Slot(kGB);
  s.safe_wal_bytes = 2 * kGB;
  auto w = SlotWarnings("walferry_a", s, std::nullopt, {});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("invalidated by max_slot_wal_keep_size after 2.0 GB"), std::string::npos) << w[0];
  s.safe_wal_bytes = 20 * kGB;
  EXPECT_TRUE(SlotWarnings("walferry_a", s, std::nullopt, {}).empty());
  s.wal_status = "unreserved";
  s.safe_wal_bytes = -5;
  w = SlotWarnings("walferry_a", s, std::nullopt, {});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("after 0 B more WAL"), std::string::npos) << w[0];
  s.wal_status = "lost";
  w = SlotWarnings("walferry_a", s, std::nullopt, {});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("is lost"), std::string::npos) << w[0];
}

// PostgreSQL 17+ says why a slot was invalidated (pg_replication_slots.invalidation_reason): the warning names
// that reason instead of blaming max_slot_wal_keep_size for every lost slot (18 also invalidates idle slots).
TEST(SlotWarnings, AnInvalidatedSlotIsNamedWithTheReasonTheSourceGives) {
  SlotFacts s = Slot(kGB, false);
  s.wal_status = "lost";
  s.invalidation_reason = "idle_timeout";
  auto w = SlotWarnings("walferry_a", s, std::nullopt, {});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("slot walferry_a was invalidated by the source (idle_timeout)"), std::string::npos) << w[0];
  EXPECT_NE(w[0].find("idle_replication_slot_timeout"), std::string::npos) << w[0];
  EXPECT_EQ(w[0].find("max_slot_wal_keep_size"), std::string::npos) << w[0];
  EXPECT_NE(w[0].find("the set must be loaded again"), std::string::npos) << w[0];
  s.invalidation_reason = "wal_removed";
  w = SlotWarnings("walferry_a", s, std::nullopt, {});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("(wal_removed): the source removed WAL it still needed (max_slot_wal_keep_size)"),
            std::string::npos) << w[0];
  // Invalidated is invalidated, whatever wal_status says; a reason walferry does not know is shown as given.
  s.wal_status = "reserved";
  s.invalidation_reason = "some_future_reason";
  w = SlotWarnings("walferry_a", s, std::nullopt, {});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("was invalidated by the source (some_future_reason)"), std::string::npos) << w[0];
}

// PostgreSQL 17+ says since when no walsender has read a slot (inactive_since): the source's own word wins over
// the age of walferry's status row, which says when walferry last wrote it, not when the slot was last read.
TEST(SlotWarnings, TheSourcesInactiveSinceCountsWhereTheSourceHasIt) {
  SetStatusRow row;
  row.set_name = "a";
  row.slot_name = "walferry_a";
  row.status_age_seconds = 30;
  row.slot = Slot(kGB, false);
  EXPECT_TRUE(SetWarnings(row, {}).empty()) << "before 17: the status row's age, 30 s";
  row.slot->inactive_seconds = 3000;
  ASSERT_EQ(SetWarnings(row, {}).size(), 1u);
  EXPECT_NE(SetWarnings(row, {})[0].find("slot walferry_a has not been read for 50 minutes"), std::string::npos);
}

TEST(SlotWarnings, UnreadForLongerThanTheLimit) {
  EXPECT_TRUE(SlotWarnings("walferry_a", Slot(kGB, false), 599.0, {}).empty());
  auto w = SlotWarnings("walferry_a", Slot(kGB, false), 1830.0, {});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("has not been read for 30 minutes"), std::string::npos) << w[0];
}

TEST(SlotWarnings, ASetsSlotCountsAsUnreadSinceItsLastStatusWhenNoWalsenderReadsIt) {
  SetStatusRow row;
  row.set_name = "a";
  row.slot_name = "walferry_a";  // as the set's load recorded it
  row.status_age_seconds = 900;
  EXPECT_TRUE(SetWarnings(row, {}).empty()) << "no slot: nothing to say about it";
  row.slot = Slot(kGB, true);
  EXPECT_TRUE(SetWarnings(row, {}).empty()) << "read now";
  row.slot = Slot(kGB, false);
  ASSERT_EQ(SetWarnings(row, {}).size(), 1u);
  EXPECT_NE(SetWarnings(row, {})[0].find("slot walferry_a has not been read for 15 minutes"), std::string::npos);
}

TEST(Size, ParsesAndPrintsSizes) {
  EXPECT_EQ(config::ParseSize("512MB"), int64_t{512} << 20);
  EXPECT_EQ(config::ParseSize("10 gb"), 10 * kGB);
  EXPECT_EQ(config::ParseSize("123"), 123);
  std::string why;
  EXPECT_FALSE(config::ParseSize("1.5GB", &why));
  EXPECT_EQ(why.rfind("'1.5GB' is not a size; use bytes", 0), 0u) << why;
  EXPECT_FALSE(config::ParseSize("99999999999TB", &why));
  EXPECT_EQ(why, "'99999999999TB' is too large");
  EXPECT_FALSE(config::ParseSize("99999999999999999999", &why));
  EXPECT_EQ(why, "'99999999999999999999' is too large");
  EXPECT_EQ(config::HumanSize(812), "812 B");
  EXPECT_EQ(config::HumanSize(int64_t{3} << 20), "3.0 MB");
  EXPECT_EQ(config::HumanSize(12 * kGB + kGB / 2), "12.5 GB");
}

}  // namespace
}  // namespace walferry::control
