// pg/server_version.h
//
// The one place where walferry decides, from a server's server_version_num, what it may use on that server and
// whether it serves that server at all. walferry serves PostgreSQL 12 to 18 as source and target, from a source to
// a target of the same or a newer major version (MigrationPairOf); every query or option that differs between
// versions asks ServerFeatures, never the version number itself:
//   publish_via_partition_root  13+  a partitioned table is published (and decoded) through its root; on 12 its
//                                    partitions are published one by one
//   row_filters                 15+  publication WHERE clauses (walferry does not use them yet; listed for assess)
//   max_slot_wal_keep_size      13+  the setting exists, and pg_replication_slots has wal_status/safe_wal_size
//   logical_messages            14+  pgoutput's `messages` option: walferry's partition TRUNCATE capture
//                                    (control/truncate_capture.h)
//   copy_progress               14+  pg_stat_progress_copy: the load's display of the COPYs running into the
//                                    target (load/progress.cc); older targets show finished tables only
//   wal_replay_pause_state      14+  pg_get_wal_replay_pause_state() tells when replay HAS paused (12 and 13 only
//                                    say a pause was requested): `load --from-standby` needs it (load/standby.cc)
//   stat_replication_slots      14+  pg_stat_replication_slots (spilled bytes per slot: walferry serve)
//   slot_invalidation_reason    17+  pg_replication_slots.invalidation_reason and inactive_since: why a slot was
//                                    invalidated (wal_removed, rows_removed, wal_level_insufficient, and
//                                    idle_timeout from 18) and since when nobody reads it (walferry status)
//   publish_generated_columns   18+  a publication can send stored generated columns (publish_generated_columns
//                                    = stored), so a replica identity that includes one can be matched
//   virtual_generated_columns   18+  pg_attribute.attgenerated 'v': computed at read time, never stored, never
//                                    published, never copied
//   pgoutput_protocol           the pgoutput protocol walferry asks for, as the native subscriber does: 1 on 12-13,
//                               2 on 14, 3 on 15, 4 on 16+ (two_phase and streaming = parallel are never asked for,
//                               so 3 and 4 send what 2 sends)
//   stream_in_progress          14+ (protocol >= 2): `streaming 'on'`: a large transaction is sent while it runs,
//                               spilled to a local file and applied at its Stream Commit (docs/cdc.md, Streaming)
// Pure; unit-tested per version in tests/unit/server_version_test.cc. docs/versions.md lists the same for people.
#pragma once

#include <string>

namespace walferry::pg {

inline constexpr int kOldestServedMajor = 12;
inline constexpr int kNewestServedMajor = 18;

struct ServerFeatures {
  int major = 0;  // 15 for 150018
  bool served = false;
  std::string not_served_why;  // for people, when !served: which versions walferry serves
  bool publish_via_partition_root = false;
  bool row_filters = false;
  bool max_slot_wal_keep_size = false;
  bool logical_messages = false;
  bool copy_progress = false;
  bool wal_replay_pause_state = false;
  bool stat_replication_slots = false;
  bool slot_invalidation_reason = false;
  bool publish_generated_columns = false;
  bool virtual_generated_columns = false;
  int pgoutput_protocol = 1;
  bool stream_in_progress = false;
};

// `role`: "source" or "target", for the message. Versions before 10 (e.g. 90624) have major = 9.
ServerFeatures FeaturesOf(int server_version_num, const std::string& role = "source");

// Whether walferry migrates a source of one version into a target of another. Served: both served, and the
// target's major version is the source's or newer (minor versions may differ either way). A target older than the
// source is refused: the schema comes from a pg_dump of the source's version or newer, whose output PostgreSQL
// does not promise to restore into an older server, and the source may hold types, syntax and values (multiranges,
// new options, new catalog defaults) the older target has no way to store. The way back of a cutover (the target's
// writes carried to the old source, cutover --fallback) is not a migration pair: it carries rows into tables that
// already exist.
struct MigrationPair {
  bool served = false;
  std::string not_served_why;  // for people, when !served
};
MigrationPair MigrationPairOf(int source_version_num, int target_version_num);

}  // namespace walferry::pg
