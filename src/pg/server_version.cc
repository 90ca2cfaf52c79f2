#include "pg/server_version.h"

namespace walferry::pg {

ServerFeatures FeaturesOf(int server_version_num, const std::string& role) {
  ServerFeatures f;
  f.major = server_version_num / 10000;  // 150018 -> 15; 90624 -> 9
  f.served = f.major >= kOldestServedMajor && f.major <= kNewestServedMajor;
  if (!f.served) {
    f.not_served_why = "walferry serves PostgreSQL " + std::to_string(kOldestServedMajor) + " to " +
                       std::to_string(kNewestServedMajor) + " as source and target; the " + role + " runs " +
                       (f.major < kOldestServedMajor ? "an older" : "a newer") + " major version (" +
                       std::to_string(f.major) + ")";
  }
  f.publish_via_partition_root = f.major >= 13;
  f.row_filters = f.major >= 15;
  f.max_slot_wal_keep_size = f.major >= 13;
  f.logical_messages = f.major >= 14;
  f.copy_progress = f.major >= 14;
  f.wal_replay_pause_state = f.major >= 14;
  f.pgoutput_protocol = 1;
  return f;
}

}  // namespace walferry::pg
