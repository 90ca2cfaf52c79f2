// pg::FeaturesOf: what walferry uses on each PostgreSQL major version, and which it serves (12 to 17).
#include <gtest/gtest.h>

#include "pg/server_version.h"

namespace walferry::pg {
namespace {

TEST(ServerVersion, ServesTwelveToSeventeenAndSaysWhyNotOthers) {
  for (int v : {90624, 100023, 110022}) {
    ServerFeatures f = FeaturesOf(v, "target");
    EXPECT_FALSE(f.served) << v;
    EXPECT_NE(f.not_served_why.find("the target runs an older major version"), std::string::npos) << v;
    EXPECT_NE(f.not_served_why.find("12 to 17"), std::string::npos) << v;
  }
  for (int v : {120020, 130016, 140013, 150018, 160004, 170000}) {
    EXPECT_TRUE(FeaturesOf(v).served) << v;
    EXPECT_EQ(FeaturesOf(v).not_served_why, "") << v;
  }
  ServerFeatures next = FeaturesOf(180000);
  EXPECT_FALSE(next.served);
  EXPECT_NE(next.not_served_why.find("the source runs a newer major version (18)"), std::string::npos);
}

TEST(ServerVersion, FeaturesPerVersion) {
  struct Want {
    int version;
    bool via_root, row_filters, keep_size, messages_copy_progress_pause_state;
  };
  for (const Want& w : {Want{120020, false, false, false, false}, Want{130016, true, false, true, false},
                        Want{140013, true, false, true, true}, Want{150018, true, true, true, true},
                        Want{160004, true, true, true, true}, Want{170002, true, true, true, true}}) {
    ServerFeatures f = FeaturesOf(w.version);
    EXPECT_EQ(f.major, w.version / 10000);
    EXPECT_EQ(f.publish_via_partition_root, w.via_root) << w.version;
    EXPECT_EQ(f.row_filters, w.row_filters) << w.version;
    EXPECT_EQ(f.max_slot_wal_keep_size, w.keep_size) << w.version;
    EXPECT_EQ(f.logical_messages, w.messages_copy_progress_pause_state) << w.version;
    EXPECT_EQ(f.copy_progress, w.messages_copy_progress_pause_state) << w.version;
    EXPECT_EQ(f.wal_replay_pause_state, w.messages_copy_progress_pause_state) << w.version;
    EXPECT_EQ(f.pgoutput_protocol, 1) << w.version;
  }
}

}  // namespace
}  // namespace walferry::pg
