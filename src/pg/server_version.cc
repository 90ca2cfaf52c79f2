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
  f.stat_replication_slots = f.major >= 14;
  f.slot_invalidation_reason = f.major >= 17;
  f.publish_generated_columns = f.major >= 18;
  f.virtual_generated_columns = f.major >= 18;
  // As the native subscriber asks (src/backend/replication/logical/worker.c): 2 adds streams of in-progress
  // transactions (14), 3 two-phase (15), 4 parallel streaming (16). walferry never asks for two_phase nor for
  // streaming = parallel, so 3 and 4 send what 2 sends.
  f.pgoutput_protocol = f.major >= 16 ? 4 : f.major == 15 ? 3 : f.major == 14 ? 2 : 1;
  f.stream_in_progress = f.pgoutput_protocol >= 2;
  return f;
}

MigrationPair MigrationPairOf(int source_version_num, int target_version_num) {
  const ServerFeatures source = FeaturesOf(source_version_num, "source");
  const ServerFeatures target = FeaturesOf(target_version_num, "target");
  MigrationPair p;
  if (!source.served) {
    p.not_served_why = source.not_served_why;
  } else if (!target.served) {
    p.not_served_why = target.not_served_why;
  } else if (target.major < source.major) {
    p.not_served_why = "the target runs PostgreSQL " + std::to_string(target.major) + ", older than the source's " +
                       std::to_string(source.major) + ": walferry migrates only to the same or a newer major "
                       "version (the schema comes from a pg_dump of PostgreSQL " + std::to_string(source.major) +
                       " or newer, whose output PostgreSQL does not promise to restore into an older server, and "
                       "the source may hold types and values an older server cannot store)";
  } else {
    p.served = true;
  }
  return p;
}

}  // namespace walferry::pg
