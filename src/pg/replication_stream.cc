#include "pg/replication_stream.h"

#include <libpq-fe.h>
#include <poll.h>

#include "common/byte_reader.h"
#include "pg/quote.h"

namespace walferry::pg {

namespace {
// Seconds between 1970-01-01 and 2000-01-01 (PostgreSQL's epoch).
constexpr int64_t kPgEpochOffsetSeconds = 946684800;

// The replication command scanner knows only '...' strings with '' doubling (no E'' form).
std::string ReplicationLiteral(std::string_view v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

void PutU64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}
}  // namespace

PgTimestamp PgNow() {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return us - kPgEpochOffsetSeconds * 1000000;
}

ReplicationConnection ReplicationConnection::Open(const std::string& conninfo, const std::string& role,
                                                  const std::string& application_name) {
  ConnectOptions opts;
  opts.role = role + " (replication)";
  opts.application_name = application_name;
  opts.replication = "database";
  opts.client_encoding = kTransferEncoding;
  Connection conn = Connection::Open(conninfo, opts);
  conn.Exec(std::string("SET lc_monetary = ") + QuoteLiteral(kTransferLcMonetary));
  return ReplicationConnection(std::move(conn));
}

ReplicationConnection& ReplicationConnection::operator=(ReplicationConnection&& other) noexcept {
  if (this != &other) {
    FreeBuffer();
    conn_ = std::move(other.conn_);
    buffer_ = other.buffer_;
    other.buffer_ = nullptr;
    streaming_ = other.streaming_;
  }
  return *this;
}

ReplicationConnection::~ReplicationConnection() { FreeBuffer(); }

void ReplicationConnection::FreeBuffer() {
  if (buffer_ != nullptr) {
    PQfreemem(buffer_);
    buffer_ = nullptr;
  }
}

SystemIdentity ReplicationConnection::IdentifySystem() {
  Result r = conn_.Exec("IDENTIFY_SYSTEM");
  if (r.rows() != 1 || r.cols() < 4) throw Error(ErrorKind::kProtocol, "unexpected IDENTIFY_SYSTEM reply shape");
  SystemIdentity id;
  id.system_id = std::string(r.Get(0, 0));
  id.timeline = static_cast<int>(r.GetInt(0, 1));
  id.xlog_pos = Lsn::Parse(r.Get(0, 2));
  if (auto db = r.GetOpt(0, 3)) id.dbname = *db;
  return id;
}

CreatedSlot ReplicationConnection::CreateLogicalSlot(const std::string& slot, SnapshotAction action, bool temporary,
                                                     const std::string& plugin) {
  const char* snap = action == SnapshotAction::kExport   ? "EXPORT_SNAPSHOT"
                     : action == SnapshotAction::kUse    ? "USE_SNAPSHOT"
                                                         : "NOEXPORT_SNAPSHOT";
  // Slot and plugin names are identifiers in the replication grammar.
  std::string sql = "CREATE_REPLICATION_SLOT " + QuoteIdent(slot) + (temporary ? " TEMPORARY" : "") +
                    " LOGICAL " + QuoteIdent(plugin) + " " + snap;
  Result r = WithContext("creating logical replication slot " + slot, [&] { return conn_.Exec(sql); });
  CreatedSlot created;
  created.name = std::string(r.Get(0, 0));
  created.consistent_point = Lsn::Parse(r.Get(0, 1));
  if (auto s = r.GetOpt(0, 2)) created.snapshot_name = *s;
  if (auto p = r.GetOpt(0, 3)) created.plugin = *p;
  return created;
}

void ReplicationConnection::DropSlot(const std::string& slot, bool wait) {
  WithContext("dropping replication slot " + slot, [&] {
    conn_.Exec("DROP_REPLICATION_SLOT " + QuoteIdent(slot) + (wait ? " WAIT" : ""));
  });
}

void ReplicationConnection::StartLogical(const std::string& slot, Lsn start,
                                         const std::vector<std::pair<std::string, std::string>>& options) {
  std::string sql = "START_REPLICATION SLOT " + QuoteIdent(slot) + " LOGICAL " + start.ToString();
  if (!options.empty()) {
    sql += " (";
    for (size_t i = 0; i < options.size(); ++i) {
      if (i > 0) sql += ", ";
      sql += QuoteIdent(options[i].first) + " " + ReplicationLiteral(options[i].second);
    }
    sql += ")";
  }
  Result r(PQexec(conn_.raw(), sql.c_str()));
  WithContext("starting replication from slot " + slot, [&] { conn_.Check(std::move(r), sql); });
  streaming_ = true;
}

std::optional<StreamMessage> ReplicationConnection::Read(std::chrono::milliseconds timeout) {
  FreeBuffer();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool polled = false;  // a zero timeout still looks at the socket once
  while (true) {
    int n = PQgetCopyData(conn_.raw(), &buffer_, 1);
    if (n > 0) {
      ByteReader reader(buffer_, static_cast<size_t>(n));
      char kind = reader.Char("message kind");
      if (kind == 'w') {
        XLogData d;
        d.wal_start = Lsn(reader.U64("XLogData start"));
        d.wal_end = Lsn(reader.U64("XLogData end"));
        d.send_time = reader.I64("XLogData send time");
        d.payload = reader.Rest();
        return d;
      }
      if (kind == 'k') {
        Keepalive k;
        k.wal_end = Lsn(reader.U64("keepalive end"));
        k.send_time = reader.I64("keepalive send time");
        k.reply_requested = reader.U8("keepalive reply flag") != 0;
        reader.ExpectEnd("keepalive");
        return k;
      }
      throw Error(ErrorKind::kProtocol, std::string("unknown replication message kind '") + kind + "'");
    }
    if (n == -1) {
      streaming_ = false;
      conn_.Check(Result(PQgetResult(conn_.raw())), "replication stream");
      conn_.DrainResults();
      return StreamEnded{};
    }
    if (n == -2) throw conn_.ConnectionError(conn_.role() + ": reading the replication stream");
    // n == 0: nothing buffered; wait for the socket.
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 && polled) return std::nullopt;
    pollfd pfd{PQsocket(conn_.raw()), POLLIN, 0};
    int rc = poll(&pfd, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
    polled = true;
    if (rc < 0 && errno != EINTR) throw Error(ErrorKind::kIo, "poll on replication socket failed");
    if (rc > 0 && PQconsumeInput(conn_.raw()) != 1) {
      throw conn_.ConnectionError(conn_.role() + ": receiving the replication stream");
    }
  }
}

void ReplicationConnection::SendStatus(Lsn written, Lsn flushed, Lsn applied, bool reply_requested) {
  std::string msg;
  msg.reserve(34);
  msg.push_back('r');
  PutU64(msg, written.value());
  PutU64(msg, flushed.value());
  PutU64(msg, applied.value());
  PutU64(msg, static_cast<uint64_t>(PgNow()));
  msg.push_back(reply_requested ? 1 : 0);
  if (PQputCopyData(conn_.raw(), msg.data(), static_cast<int>(msg.size())) != 1 || PQflush(conn_.raw()) != 0) {
    throw conn_.ConnectionError(conn_.role() + ": sending standby status update");
  }
}

void ReplicationConnection::EndStream() {
  if (!streaming_) return;
  FreeBuffer();
  PQputCopyEnd(conn_.raw(), nullptr);
  PQflush(conn_.raw());
  // Drain whatever the server still sends until it acknowledges the end of the stream.
  char* buf = nullptr;
  int n;
  while ((n = PQgetCopyData(conn_.raw(), &buf, 0)) > 0) PQfreemem(buf);
  streaming_ = false;
  while (PGresult* r = PQgetResult(conn_.raw())) PQclear(r);
}

}  // namespace walferry::pg
