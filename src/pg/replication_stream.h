// pg/replication_stream.h
//
// A logical replication connection (replication=database) speaking the streaming replication protocol:
// IDENTIFY_SYSTEM, CREATE_REPLICATION_SLOT ... LOGICAL (with EXPORT_SNAPSHOT), DROP_REPLICATION_SLOT,
// START_REPLICATION ... LOGICAL with plugin options, then the CopyBoth stream of XLogData ('w') and primary
// keepalive ('k') messages, answered with standby status updates ('r'). Byte layouts: docs/design/lsn.md.
//
// It does not decode the plugin's payload (cdc/ does). Not thread-safe. Owns its Connection.
// Invariant: while streaming, only Read/SendStatus/EndStream may be called.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/lsn.h"
#include "pg/connection.h"

namespace walferry::pg {

struct SystemIdentity {
  std::string system_id;
  int timeline = 0;
  Lsn xlog_pos;
  std::string dbname;
};

struct CreatedSlot {
  std::string name;
  Lsn consistent_point;
  // Empty unless the slot was created with EXPORT_SNAPSHOT. Valid until the next command on this connection.
  std::string snapshot_name;
  std::string plugin;
};

enum class SnapshotAction { kExport, kNoExport, kUse };

// Microseconds since 2000-01-01 00:00:00 UTC, as the protocol sends times.
using PgTimestamp = int64_t;
PgTimestamp PgNow();

struct XLogData {
  Lsn wal_start;
  Lsn wal_end;
  PgTimestamp send_time = 0;
  std::string_view payload;  // valid until the next Read
};

struct Keepalive {
  Lsn wal_end;
  PgTimestamp send_time = 0;
  bool reply_requested = false;
};

struct StreamEnded {};

using StreamMessage = std::variant<XLogData, Keepalive, StreamEnded>;

class ReplicationConnection {
 public:
  // The walsender sends text in kTransferEncoding (client_encoding, as native replication asks for its
  // subscriber's encoding) and formats money under kTransferLcMonetary (pg/connection.h), whatever the source
  // database's encoding and locale: the apply session reads them back the same way.
  // application_name: as ConnectOptions (the user's own in the conninfo wins).
  static ReplicationConnection Open(const std::string& conninfo, const std::string& role = "source",
                                    const std::string& application_name = "walferry");

  ReplicationConnection(ReplicationConnection&&) noexcept = default;
  ReplicationConnection& operator=(ReplicationConnection&&) noexcept;
  ~ReplicationConnection();

  SystemIdentity IdentifySystem();
  CreatedSlot CreateLogicalSlot(const std::string& slot, SnapshotAction action, bool temporary = false,
                                const std::string& plugin = "pgoutput");
  // wait: wait for an active consumer to go away instead of failing.
  void DropSlot(const std::string& slot, bool wait = false);

  // options: plugin options, e.g. {"proto_version","1"}, {"publication_names","\"pub\""}. Values are quoted here.
  void StartLogical(const std::string& slot, Lsn start, const std::vector<std::pair<std::string, std::string>>& options);

  // Next message, or nullopt after `timeout` without one; a zero timeout returns only what has already arrived
  // (checking the socket once, without waiting). Throws Error(kConnection/kProtocol).
  std::optional<StreamMessage> Read(std::chrono::milliseconds timeout);
  // Standby status update: what walferry has received (write), durably applied (flush, apply).
  void SendStatus(Lsn written, Lsn flushed, Lsn applied, bool reply_requested = false);
  // Ends the CopyBoth stream cleanly (CopyDone) and reads the server's closing results.
  void EndStream();

  bool streaming() const { return streaming_; }
  Connection& connection() { return conn_; }

 private:
  explicit ReplicationConnection(Connection conn) : conn_(std::move(conn)) {}
  void FreeBuffer();

  Connection conn_;
  char* buffer_ = nullptr;
  bool streaming_ = false;
};

}  // namespace walferry::pg
