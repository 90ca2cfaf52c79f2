// pg::FeaturesOf: what walferry uses on each PostgreSQL major version, and which it serves (12 to 18);
// pg::MigrationPairOf: which source -> target pairs it migrates (the same or a newer major version).
#include <gtest/gtest.h>

#include "pg/server_version.h"

namespace walferry::pg {
namespace {

TEST(ServerVersion, ServesTwelveToEighteenAndSaysWhyNotOthers) {
  for (int v : {90624, 100023, 110022}) {
    ServerFeatures f = FeaturesOf(v, "target");
    EXPECT_FALSE(f.served) << v;
    EXPECT_NE(f.not_served_why.find("the target runs an older major version"), std::string::npos) << v;
    EXPECT_NE(f.not_served_why.find("12 to 18"), std::string::npos) << v;
  }
  for (int v : {120022, 130023, 140023, 150018, 160014, 170010, 180004}) {
    EXPECT_TRUE(FeaturesOf(v).served) << v;
    EXPECT_EQ(FeaturesOf(v).not_served_why, "") << v;
  }
  ServerFeatures next = FeaturesOf(190000);
  EXPECT_FALSE(next.served);
  EXPECT_NE(next.not_served_why.find("the source runs a newer major version (19)"), std::string::npos);
}

// One row per served major version: every feature walferry decides by version, so that a change of one decision
// shows here, version by version.
struct Want {
  int version;
  bool via_root, row_filters, keep_size, messages, copy_progress, pause_state, slot_stats, invalidation_reason,
      publish_generated, virtual_generated;
  int protocol;  // pgoutput proto_version, as the native subscriber asks
};

void ExpectFeatures(const Want& w) {
  ServerFeatures f = FeaturesOf(w.version);
  EXPECT_TRUE(f.served) << w.version;
  EXPECT_EQ(f.major, w.version / 10000);
  EXPECT_EQ(f.publish_via_partition_root, w.via_root) << w.version;
  EXPECT_EQ(f.row_filters, w.row_filters) << w.version;
  EXPECT_EQ(f.max_slot_wal_keep_size, w.keep_size) << w.version;
  EXPECT_EQ(f.logical_messages, w.messages) << w.version;
  EXPECT_EQ(f.copy_progress, w.copy_progress) << w.version;
  EXPECT_EQ(f.wal_replay_pause_state, w.pause_state) << w.version;
  EXPECT_EQ(f.stat_replication_slots, w.slot_stats) << w.version;
  EXPECT_EQ(f.slot_invalidation_reason, w.invalidation_reason) << w.version;
  EXPECT_EQ(f.publish_generated_columns, w.publish_generated) << w.version;
  EXPECT_EQ(f.virtual_generated_columns, w.virtual_generated) << w.version;
  EXPECT_EQ(f.pgoutput_protocol, w.protocol) << w.version;
  EXPECT_EQ(f.stream_in_progress, w.protocol >= 2) << w.version;
}

TEST(ServerVersion, Twelve) {
  ExpectFeatures({120022, false, false, false, false, false, false, false, false, false, false, 1});
}
TEST(ServerVersion, Thirteen) {
  ExpectFeatures({130023, true, false, true, false, false, false, false, false, false, false, 1});
}
TEST(ServerVersion, Fourteen) {
  ExpectFeatures({140023, true, false, true, true, true, true, true, false, false, false, 2});
}
TEST(ServerVersion, Fifteen) {
  ExpectFeatures({150018, true, true, true, true, true, true, true, false, false, false, 3});
}
TEST(ServerVersion, Sixteen) {
  ExpectFeatures({160014, true, true, true, true, true, true, true, false, false, false, 4});
}
TEST(ServerVersion, Seventeen) {
  ExpectFeatures({170010, true, true, true, true, true, true, true, true, false, false, 4});
}
TEST(ServerVersion, Eighteen) {
  ExpectFeatures({180004, true, true, true, true, true, true, true, true, true, true, 4});
}

TEST(ServerVersion, MigratesToTheSameOrANewerMajorVersion) {
  const int versions[] = {120022, 130023, 140023, 150018, 160014, 170010, 180004};
  for (int s : versions) {
    for (int t : versions) {
      MigrationPair p = MigrationPairOf(s, t);
      EXPECT_EQ(p.served, t / 10000 >= s / 10000) << s << " -> " << t;
      EXPECT_EQ(p.not_served_why.empty(), p.served) << s << " -> " << t;
    }
  }
  EXPECT_TRUE(MigrationPairOf(150018, 150002).served) << "minor versions may differ either way";
  MigrationPair older = MigrationPairOf(170010, 140023);
  EXPECT_NE(older.not_served_why.find("the target runs PostgreSQL 14, older than the source's 17"), std::string::npos)
      << older.not_served_why;
  EXPECT_NE(older.not_served_why.find("same or a newer major version"), std::string::npos) << older.not_served_why;
  MigrationPair too_new = MigrationPairOf(150018, 190000);
  EXPECT_FALSE(too_new.served);
  EXPECT_NE(too_new.not_served_why.find("the target runs a newer major version (19)"), std::string::npos);
  MigrationPair too_old = MigrationPairOf(110022, 150018);
  EXPECT_FALSE(too_old.served);
  EXPECT_NE(too_old.not_served_why.find("the source runs an older major version (11)"), std::string::npos);
}

}  // namespace
}  // namespace walferry::pg
