// cdc/pgoutput_decoder.cc -- byte layouts in docs/design/pgoutput.md.
#include "cdc/pgoutput_decoder.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>

#include "common/byte_reader.h"
#include "common/error.h"

namespace walferry::cdc {
namespace {

constexpr std::array<const char*, std::variant_size_v<Message>> kMessageNames = {
    "Begin",        "Commit",       "Origin",         "Relation",        "Type",          "Insert",
    "Update",       "Delete",       "Truncate",       "Message",         "Stream Start",  "Stream Stop",
    "Stream Commit", "Stream Abort", "Begin Prepare", "Prepare",         "Commit Prepared",
    "Rollback Prepared"};

constexpr uint8_t kMessageTransactional = 1;
constexpr uint8_t kTruncateCascade = 1;
constexpr uint8_t kTruncateRestartIdentity = 2;

// 'X' for printable bytes, otherwise the hex value: an unknown type byte may be anything.
std::string DescribeByte(char c) {
  const auto u = static_cast<unsigned char>(c);
  char buf[16];
  if (u >= 0x20 && u < 0x7f) {
    std::snprintf(buf, sizeof buf, "'%c' (0x%02x)", c, u);
  } else {
    std::snprintf(buf, sizeof buf, "0x%02x", u);
  }
  return buf;
}

Error ProtocolError(std::string message) { return Error(ErrorKind::kProtocol, std::move(message)); }

const char* TypeName(char type) {
  switch (type) {
    case 'B': return "Begin";
    case 'C': return "Commit";
    case 'O': return "Origin";
    case 'R': return "Relation";
    case 'Y': return "Type";
    case 'I': return "Insert";
    case 'U': return "Update";
    case 'D': return "Delete";
    case 'T': return "Truncate";
    case 'M': return "Message";
    case 'S': return "Stream Start";
    case 'E': return "Stream Stop";
    case 'c': return "Stream Commit";
    case 'A': return "Stream Abort";
    case 'b': return "Begin Prepare";
    case 'P': return "Prepare";
    case 'K': return "Commit Prepared";
    case 'r': return "Rollback Prepared";
    case 'p': return "Stream Prepare";
    default: return nullptr;
  }
}

// Messages that frame a whole transaction; none may appear between Stream Start and Stream Stop.
bool IsOutsideStreamOnly(char type) {
  switch (type) {
    case 'B': case 'C': case 'S': case 'c': case 'A': case 'b': case 'P': case 'K': case 'r': case 'p':
      return true;
    default:
      return false;
  }
}

int MinProtocolFor(char type) {
  switch (type) {
    case 'S': case 'E': case 'c': case 'A': return 2;
    case 'b': case 'P': case 'K': case 'r': case 'p': return 3;
    default: return 1;
  }
}

std::string QualifiedName(const Relation& rel) {
  return rel.namespace_name + "." + rel.name + " (relation id " + std::to_string(rel.relation_id.value) + ")";
}

}  // namespace

// Reads the fields of one message. Holds no state of its own beyond the read position; consults (never
// changes) the Decoder's cache and streaming flag.
class Decoder::Reader {
 public:
  Reader(const Decoder& decoder, std::string_view bytes) : decoder_(decoder), in_(bytes.data(), bytes.size()) {}

  char ReadMessageType() { return in_.Char("message type"); }
  void ExpectEnd() const { in_.ExpectEnd("the last field"); }

  Message Body(char type) {
    switch (type) {
      case 'B': return ReadBegin();
      case 'C': return ReadCommit();
      case 'O': return ReadOrigin();
      case 'R': return ReadRelation();
      case 'Y': return ReadType();
      case 'I': return ReadInsert();
      case 'U': return ReadUpdate();
      case 'D': return ReadDelete();
      case 'T': return ReadTruncate();
      case 'M': return ReadLogicalMessage();
      case 'S': return ReadStreamStart();
      case 'E': return StreamStop{};
      case 'c': return ReadStreamCommit();
      case 'A': return ReadStreamAbort();
      case 'b': return ReadBeginPrepare();
      case 'P': return ReadPrepare(false);
      case 'p': return ReadPrepare(true);
      case 'K': return ReadCommitPrepared();
      case 'r': return ReadRollbackPrepared();
      default: break;
    }
    throw ProtocolError("unknown pgoutput message type " + DescribeByte(type));
  }

 private:
  Lsn ReadLsn(std::string_view field) { return Lsn(in_.U64(field)); }
  Xid ReadXid(std::string_view field) { return Xid{in_.U32(field)}; }

  // Inside a Stream Start/Stop block (protocol >= 2) changes and catalog messages carry the xid first.
  std::optional<Xid> ReadStreamedXid() {
    if (!decoder_.streaming_active_) return std::nullopt;
    return ReadXid("streamed transaction xid");
  }

  uint8_t ReadZeroFlags() {
    const uint8_t flags = in_.U8("flags");
    if (flags != 0) throw ProtocolError("unknown flags " + std::to_string(flags) + " (this protocol defines none)");
    return flags;
  }

  std::string_view ReadCounted(std::string_view length_field, std::string_view bytes_field) {
    const int32_t length = in_.I32(length_field);
    if (length < 0) {
      throw ProtocolError("negative " + std::string(length_field) + " " + std::to_string(length));
    }
    return in_.Bytes(static_cast<size_t>(length), bytes_field);
  }

  Begin ReadBegin() {
    Begin m;
    m.final_lsn = ReadLsn("final LSN");
    m.commit_time = in_.I64("commit timestamp");
    m.xid = ReadXid("xid");
    return m;
  }

  Commit ReadCommit() {
    Commit m;
    m.flags = ReadZeroFlags();
    m.commit_lsn = ReadLsn("commit LSN");
    m.end_lsn = ReadLsn("end LSN");
    m.commit_time = in_.I64("commit timestamp");
    return m;
  }

  Origin ReadOrigin() {
    Origin m;
    m.commit_lsn = ReadLsn("origin commit LSN");
    m.name = std::string(in_.CString("origin name"));
    return m;
  }

  std::string ReadNamespace(std::string_view field) {
    const std::string_view name = in_.CString(field);
    return name.empty() ? std::string("pg_catalog") : std::string(name);
  }

  ReplicaIdentity ReadReplicaIdentity() {
    const char c = in_.Char("replica identity");
    switch (c) {
      case 'd': return ReplicaIdentity::kDefault;
      case 'n': return ReplicaIdentity::kNothing;
      case 'f': return ReplicaIdentity::kFull;
      case 'i': return ReplicaIdentity::kIndex;
      default: break;
    }
    throw ProtocolError("unknown replica identity " + DescribeByte(c) + " (expected 'd', 'n', 'f' or 'i')");
  }

  Relation ReadRelation() {
    Relation m;
    m.xid = ReadStreamedXid();
    m.relation_id = RelationId{in_.U32("relation id")};
    m.namespace_name = ReadNamespace("relation namespace");
    m.name = std::string(in_.CString("relation name"));
    m.replica_identity = ReadReplicaIdentity();
    const uint16_t count = in_.U16("relation column count");
    // Each column takes at least 10 bytes; do not let a corrupt count reserve memory the input cannot fill.
    m.columns.reserve(std::min<size_t>(count, in_.remaining() / 10));
    for (uint16_t i = 0; i < count; ++i) {
      try {
        RelationColumn& column = m.columns.emplace_back();
        column.flags = in_.U8("column flags");
        column.name = std::string(in_.CString("column name"));
        column.type_oid = TypeOid{in_.U32("column type oid")};
        column.type_modifier = in_.I32("column type modifier");
      } catch (Error& e) {
        e.AddContext("reading column " + std::to_string(i + 1) + " of " + std::to_string(count) + " of " +
                     m.namespace_name + "." + m.name);
        throw;
      }
    }
    return m;
  }

  Type ReadType() {
    Type m;
    m.xid = ReadStreamedXid();
    m.type_oid = TypeOid{in_.U32("type oid")};
    m.namespace_name = ReadNamespace("type namespace");
    m.name = std::string(in_.CString("type name"));
    return m;
  }

  const Relation& RequireRelation(RelationId id) {
    const Relation* rel = decoder_.FindRelation(id);
    if (rel == nullptr) {
      throw ProtocolError("change for relation id " + std::to_string(id.value) +
                          " that no Relation message described; the stream must send 'R' before the first change");
    }
    return *rel;
  }

  ColumnValue ReadColumn() {
    const char kind = in_.Char("tuple column kind");
    switch (kind) {
      case 'n': return {ColumnKind::kNull, {}};
      case 'u': return {ColumnKind::kUnchangedToast, {}};
      case 't': return {ColumnKind::kText, ReadCounted("column value length", "column value")};
      case 'b': return {ColumnKind::kBinary, ReadCounted("column value length", "column value")};
      default: break;
    }
    throw ProtocolError("unknown tuple column kind " + DescribeByte(kind) + " (expected 'n', 'u', 't' or 'b')");
  }

  TupleData ReadTuple(const Relation& rel, std::string_view which) {
    const uint16_t count = in_.U16("tuple column count");
    if (count != rel.columns.size()) {
      throw ProtocolError(std::string(which) + " has " + std::to_string(count) + " column(s) but " +
                          QualifiedName(rel) + " was described with " + std::to_string(rel.columns.size()));
    }
    TupleData tuple;
    tuple.columns.reserve(count);  // bounded by the cached relation, not by the input
    for (size_t i = 0; i < count; ++i) {
      try {
        tuple.columns.push_back(ReadColumn());
      } catch (Error& e) {
        e.AddContext("reading " + std::string(which) + " column " + std::to_string(i + 1) + " (" +
                     rel.columns[i].name + ") of " + QualifiedName(rel));
        throw;
      }
    }
    return tuple;
  }

  Insert ReadInsert() {
    Insert m;
    m.xid = ReadStreamedXid();
    m.relation_id = RelationId{in_.U32("relation id")};
    const Relation& rel = RequireRelation(m.relation_id);
    const char marker = in_.Char("new tuple marker");
    if (marker != 'N') throw ProtocolError("expected new tuple marker 'N', got " + DescribeByte(marker));
    m.new_tuple = ReadTuple(rel, "new tuple");
    return m;
  }

  Update ReadUpdate() {
    Update m;
    m.xid = ReadStreamedXid();
    m.relation_id = RelationId{in_.U32("relation id")};
    const Relation& rel = RequireRelation(m.relation_id);
    char marker = in_.Char("tuple marker");
    if (marker == 'K' || marker == 'O') {
      const auto kind = static_cast<OldTupleKind>(marker);
      m.old = OldTuple{kind, ReadTuple(rel, kind == OldTupleKind::kKey ? "old key tuple" : "old tuple")};
      marker = in_.Char("new tuple marker");
    }
    if (marker != 'N') {
      throw ProtocolError("expected tuple marker 'N' (or 'K'/'O' before it), got " + DescribeByte(marker));
    }
    m.new_tuple = ReadTuple(rel, "new tuple");
    return m;
  }

  Delete ReadDelete() {
    Delete m;
    m.xid = ReadStreamedXid();
    m.relation_id = RelationId{in_.U32("relation id")};
    const Relation& rel = RequireRelation(m.relation_id);
    const char marker = in_.Char("old tuple marker");
    if (marker != 'K' && marker != 'O') {
      throw ProtocolError("expected old tuple marker 'K' or 'O', got " + DescribeByte(marker));
    }
    m.old.kind = static_cast<OldTupleKind>(marker);
    m.old.tuple = ReadTuple(rel, m.old.kind == OldTupleKind::kKey ? "old key tuple" : "old tuple");
    return m;
  }

  Truncate ReadTruncate() {
    Truncate m;
    m.xid = ReadStreamedXid();
    const int32_t count = in_.I32("truncated relation count");
    if (count < 0) throw ProtocolError("negative truncated relation count " + std::to_string(count));
    const uint8_t flags = in_.U8("truncate flags");
    if ((flags & ~(kTruncateCascade | kTruncateRestartIdentity)) != 0) {
      throw ProtocolError("unknown truncate flags " + std::to_string(flags) + " (known: 1 cascade, 2 restart identity)");
    }
    m.cascade = (flags & kTruncateCascade) != 0;
    m.restart_identity = (flags & kTruncateRestartIdentity) != 0;
    m.relation_ids.reserve(std::min<size_t>(static_cast<size_t>(count), in_.remaining() / 4));
    for (int32_t i = 0; i < count; ++i) {
      const RelationId id{in_.U32("truncated relation id")};
      RequireRelation(id);
      m.relation_ids.push_back(id);
    }
    return m;
  }

  LogicalMessage ReadLogicalMessage() {
    LogicalMessage m;
    m.xid = ReadStreamedXid();
    const uint8_t flags = in_.U8("message flags");
    if ((flags & ~kMessageTransactional) != 0) {
      throw ProtocolError("unknown message flags " + std::to_string(flags) + " (known: 1 transactional)");
    }
    m.transactional = (flags & kMessageTransactional) != 0;
    m.lsn = ReadLsn("message LSN");
    m.prefix = in_.CString("message prefix");
    m.content = ReadCounted("message content length", "message content");
    return m;
  }

  StreamStart ReadStreamStart() {
    StreamStart m;
    m.xid = ReadXid("xid");
    const uint8_t first = in_.U8("first segment flag");
    if (first > 1) throw ProtocolError("first segment flag is " + std::to_string(first) + ", expected 0 or 1");
    m.first_segment = first == 1;
    return m;
  }

  StreamCommit ReadStreamCommit() {
    StreamCommit m;
    m.xid = ReadXid("xid");
    m.flags = ReadZeroFlags();
    m.commit_lsn = ReadLsn("commit LSN");
    m.end_lsn = ReadLsn("end LSN");
    m.commit_time = in_.I64("commit timestamp");
    return m;
  }

  StreamAbort ReadStreamAbort() {
    StreamAbort m;
    m.xid = ReadXid("xid");
    m.subxid = ReadXid("subtransaction xid");
    if (decoder_.parallel_streaming_) {
      m.abort_lsn = ReadLsn("abort LSN");
      m.abort_time = in_.I64("abort timestamp");
    }
    return m;
  }

  BeginPrepare ReadBeginPrepare() {
    BeginPrepare m;
    m.prepare_lsn = ReadLsn("prepare LSN");
    m.end_lsn = ReadLsn("end LSN");
    m.prepare_time = in_.I64("prepare timestamp");
    m.xid = ReadXid("xid");
    m.gid = std::string(in_.CString("gid"));
    return m;
  }

  Prepare ReadPrepare(bool streamed) {
    Prepare m;
    m.streamed = streamed;
    m.flags = ReadZeroFlags();
    m.prepare_lsn = ReadLsn("prepare LSN");
    m.end_lsn = ReadLsn("end LSN");
    m.prepare_time = in_.I64("prepare timestamp");
    m.xid = ReadXid("xid");
    m.gid = std::string(in_.CString("gid"));
    return m;
  }

  CommitPrepared ReadCommitPrepared() {
    CommitPrepared m;
    m.flags = ReadZeroFlags();
    m.commit_lsn = ReadLsn("commit LSN");
    m.end_lsn = ReadLsn("end LSN");
    m.commit_time = in_.I64("commit timestamp");
    m.xid = ReadXid("xid");
    m.gid = std::string(in_.CString("gid"));
    return m;
  }

  RollbackPrepared ReadRollbackPrepared() {
    RollbackPrepared m;
    m.flags = ReadZeroFlags();
    m.prepare_end_lsn = ReadLsn("prepare end LSN");
    m.rollback_end_lsn = ReadLsn("rollback end LSN");
    m.prepare_time = in_.I64("prepare timestamp");
    m.rollback_time = in_.I64("rollback timestamp");
    m.xid = ReadXid("xid");
    m.gid = std::string(in_.CString("gid"));
    return m;
  }

  const Decoder& decoder_;
  ByteReader in_;
};

Decoder::Decoder(int protocol_version, bool parallel_streaming)
    : protocol_version_(protocol_version), parallel_streaming_(parallel_streaming) {
  if (protocol_version < kMinProtocolVersion || protocol_version > kMaxProtocolVersion) {
    throw Error(ErrorKind::kUsage, "pgoutput protocol version " + std::to_string(protocol_version) +
                                       " is not supported; use proto_version 1, 2, 3 or 4");
  }
  if (parallel_streaming && protocol_version < 4) {
    throw Error(ErrorKind::kUsage, "streaming = parallel needs pgoutput protocol version 4, not " +
                                       std::to_string(protocol_version));
  }
}

Message Decoder::Decode(std::string_view bytes) {
  Reader reader(*this, bytes);
  char type = 0;
  bool have_type = false;
  try {
    type = reader.ReadMessageType();
    have_type = true;
    if (TypeName(type) != nullptr) CheckOrder(type);
    Message message = reader.Body(type);
    reader.ExpectEnd();
    ApplyStateChange(message);
    return message;
  } catch (Error& e) {
    std::string doing = "decoding pgoutput ";
    const char* name = have_type ? TypeName(type) : nullptr;
    doing += name != nullptr ? std::string(name) + " message" : std::string("message");
    doing += " (" + std::to_string(bytes.size()) + " bytes)";
    e.AddContext(std::move(doing));
    throw;
  }
}

void Decoder::CheckOrder(char type) const {
  const int needed = MinProtocolFor(type);
  if (protocol_version_ < needed) {
    throw ProtocolError(std::string("message needs protocol version ") + std::to_string(needed) +
                        " but this stream negotiated version " + std::to_string(protocol_version_));
  }
  if (streaming_active_ && IsOutsideStreamOnly(type)) {
    throw ProtocolError("message arrived inside a streamed block (after Stream Start, before Stream Stop)");
  }
  if (!streaming_active_ && type == 'E') {
    throw ProtocolError("Stream Stop without a preceding Stream Start");
  }
}

void Decoder::ApplyStateChange(const Message& message) {
  if (const auto* rel = std::get_if<Relation>(&message)) {
    relations_.insert_or_assign(rel->relation_id, *rel);
  } else if (std::holds_alternative<StreamStart>(message)) {
    streaming_active_ = true;
  } else if (std::holds_alternative<StreamStop>(message)) {
    streaming_active_ = false;
  }
}

const Relation* Decoder::FindRelation(RelationId id) const {
  const auto it = relations_.find(id);
  return it == relations_.end() ? nullptr : &it->second;
}

const char* MessageName(const Message& message) {
  if (const auto* prepare = std::get_if<Prepare>(&message); prepare != nullptr && prepare->streamed) {
    return "Stream Prepare";
  }
  return kMessageNames[message.index()];
}

std::string FormatPgTimestamp(PgTimestamp ts) {
  if (ts == std::numeric_limits<PgTimestamp>::min()) return "-infinity";
  if (ts == std::numeric_limits<PgTimestamp>::max()) return "infinity";
  constexpr int64_t kMicrosPerDay = 86'400'000'000;
  constexpr int64_t kUnixToPgEpochDays = 10'957;  // 1970-01-01 .. 2000-01-01
  int64_t days = ts / kMicrosPerDay;
  int64_t micros = ts % kMicrosPerDay;
  if (micros < 0) {
    micros += kMicrosPerDay;
    --days;
  }
  // Civil date from days since 1970-01-01 (H. Hinnant's days_from_civil inverse); int64 throughout because
  // PostgreSQL timestamps reach year 294276, beyond std::chrono::year.
  const int64_t z = days + kUnixToPgEpochDays + 719'468;
  const int64_t era = (z >= 0 ? z : z - 146'096) / 146'097;
  const int64_t doe = z - era * 146'097;
  const int64_t yoe = (doe - doe / 1'460 + doe / 36'524 - doe / 146'096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);

  const int64_t secs = micros / 1'000'000;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%06lldZ", year < 0 ? "-" : "",
                static_cast<long long>(year < 0 ? -year : year), static_cast<long long>(month),
                static_cast<long long>(day), static_cast<long long>(secs / 3600),
                static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60),
                static_cast<long long>(micros % 1'000'000));
  return buf;
}

}  // namespace walferry::cdc
