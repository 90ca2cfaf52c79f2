// cdc/pgoutput_messages.h
//
// The typed values a pgoutput message decodes into (see cdc/pgoutput_decoder.h for the decoder and
// docs/design/pgoutput.md for the byte layouts). Plain data: no behaviour beyond small accessors.
//
// Lifetime rule -- read this before keeping a Message:
//   Fields declared std::string_view (tuple column values, LogicalMessage prefix/content) point INTO the input
//   buffer passed to Decoder::Decode and are valid only as long as that buffer. The replication stream's payload
//   lives until its next Read, so consume (or copy) a Message before reading the next one. This keeps the row
//   hot path free of per-column heap allocations: a tuple costs one vector, not one string per column.
//   Fields declared std::string (relation, type, origin and GID names) are owned copies; they are rare and the
//   relation cache must outlive the buffer anyway.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/lsn.h"

namespace walferry::cdc {

// PostgreSQL timestamp (TimestampTz) as sent on the wire: microseconds since 2000-01-01 00:00:00 UTC.
// Kept as the raw integer so nothing is lost; format it with FormatPgTimestamp. Same type as pg::PgTimestamp.
using PgTimestamp = int64_t;

// "2024-03-01T12:34:56.789012Z" (always six fractional digits, UTC). PostgreSQL's special values
// INT64_MIN / INT64_MAX render as "-infinity" / "infinity". Defined in pgoutput_decoder.cc.
std::string FormatPgTimestamp(PgTimestamp ts);

// A 32-bit transaction id (TransactionId) as the server sends it.
struct Xid {
  uint32_t value = 0;
  constexpr auto operator<=>(const Xid&) const = default;
};

// The pg_class OID the source uses to identify a relation in the stream.
struct RelationId {
  uint32_t value = 0;
  constexpr auto operator<=>(const RelationId&) const = default;
};

// A pg_type OID.
struct TypeOid {
  uint32_t value = 0;
  constexpr auto operator<=>(const TypeOid&) const = default;
};

// ---- Transaction framing -------------------------------------------------------------------------------------

struct Begin {  // 'B'
  Lsn final_lsn;  // LSN of the commit record
  PgTimestamp commit_time = 0;
  Xid xid;
};

struct Commit {  // 'C'
  uint8_t flags = 0;  // always 0: the decoder rejects flags it does not know
  Lsn commit_lsn;
  Lsn end_lsn;  // end of the commit record: where to resume after this transaction
  PgTimestamp commit_time = 0;
};

struct Origin {  // 'O'; may appear several times inside one transaction
  Lsn commit_lsn;  // commit LSN on the origin server
  std::string name;
};

// ---- Catalog descriptions ------------------------------------------------------------------------------------

struct RelationColumn {
  static constexpr uint8_t kKeyFlag = 1;  // column is part of the replica identity

  uint8_t flags = 0;  // raw flag bits as sent; only kKeyFlag is defined today
  std::string name;
  TypeOid type_oid;
  int32_t type_modifier = -1;  // atttypmod; -1 means "none"

  bool is_key() const { return (flags & kKeyFlag) != 0; }
};

// relreplident values, as the server sends them.
enum class ReplicaIdentity : char {
  kDefault = 'd',  // primary key
  kNothing = 'n',
  kFull = 'f',
  kIndex = 'i',
};

struct Relation {  // 'R'
  std::optional<Xid> xid;  // set only inside a streamed transaction (protocol >= 2)
  RelationId relation_id;
  std::string namespace_name;  // already mapped: the wire's empty string becomes "pg_catalog"
  std::string name;
  ReplicaIdentity replica_identity = ReplicaIdentity::kDefault;
  std::vector<RelationColumn> columns;  // generated/dropped columns (and ones outside a column list) are absent
};

struct Type {  // 'Y'
  std::optional<Xid> xid;  // set only inside a streamed transaction (protocol >= 2)
  TypeOid type_oid;
  std::string namespace_name;  // already mapped: the wire's empty string becomes "pg_catalog"
  std::string name;
};

// ---- Row changes ---------------------------------------------------------------------------------------------

// How one column of a tuple was sent. kUnchangedToast is its own state: the value was not sent because it is
// stored out of line and did not change. It is NOT a NULL and NOT an empty value; whoever applies the change
// must leave the target column as it is.
enum class ColumnKind : char {
  kNull = 'n',
  kUnchangedToast = 'u',
  kText = 't',
  kBinary = 'b',
};

struct ColumnValue {
  ColumnKind kind = ColumnKind::kNull;
  // The value bytes for kText / kBinary (a text value may legitimately be empty); always empty for kNull and
  // kUnchangedToast -- look at kind, never at bytes.empty(). A view into the input buffer.
  std::string_view bytes;
};

struct TupleData {
  std::vector<ColumnValue> columns;  // one per column of the cached Relation, in its order
};

// Which old row image an Update or Delete carries.
enum class OldTupleKind : char {
  kKey = 'K',   // replica-identity key columns only; the other columns are sent as NULL
  kFull = 'O',  // the whole old row (REPLICA IDENTITY FULL)
};

struct OldTuple {
  OldTupleKind kind = OldTupleKind::kKey;
  TupleData tuple;
};

struct Insert {  // 'I'
  std::optional<Xid> xid;  // set only inside a streamed transaction (protocol >= 2)
  RelationId relation_id;
  TupleData new_tuple;
};

struct Update {  // 'U'
  std::optional<Xid> xid;  // set only inside a streamed transaction (protocol >= 2)
  RelationId relation_id;
  // Absent when the key did not change and the identity is not FULL: then the key is in new_tuple.
  // kKey: the key changed; kFull: REPLICA IDENTITY FULL. Never both (the wire format allows only one).
  std::optional<OldTuple> old;
  TupleData new_tuple;
};

struct Delete {  // 'D'
  std::optional<Xid> xid;  // set only inside a streamed transaction (protocol >= 2)
  RelationId relation_id;
  OldTuple old;
};

struct Truncate {  // 'T'
  std::optional<Xid> xid;  // set only inside a streamed transaction (protocol >= 2)
  std::vector<RelationId> relation_ids;
  bool cascade = false;
  bool restart_identity = false;
};

struct LogicalMessage {  // 'M', from pg_logical_emit_message()
  std::optional<Xid> xid;  // set only inside a streamed transaction (protocol >= 2)
  bool transactional = false;
  Lsn lsn;
  std::string_view prefix;   // view into the input buffer
  std::string_view content;  // view into the input buffer; arbitrary bytes
};

// ---- Streaming of in-progress transactions (protocol >= 2) ----------------------------------------------------

struct StreamStart {  // 'S'; opens a block of changes belonging to `xid`
  Xid xid;
  bool first_segment = false;  // true for the first block of this xid
};

struct StreamStop {};  // 'E'; closes the block opened by StreamStart

struct StreamCommit {  // 'c'
  Xid xid;
  uint8_t flags = 0;  // always 0: the decoder rejects flags it does not know
  Lsn commit_lsn;
  Lsn end_lsn;
  PgTimestamp commit_time = 0;
};

struct StreamAbort {  // 'A'
  Xid xid;     // top-level transaction
  Xid subxid;  // aborted (sub)transaction; equals xid when the whole transaction aborted
  // Only with protocol 4 and streaming = parallel (walferry asks for streaming = on: never set).
  std::optional<Lsn> abort_lsn;
  std::optional<PgTimestamp> abort_time;
};

// ---- Two-phase commit (protocol >= 3, only when the two_phase option is on) ------------------------------------

struct BeginPrepare {  // 'b'
  Lsn prepare_lsn;
  Lsn end_lsn;
  PgTimestamp prepare_time = 0;
  Xid xid;
  std::string gid;
};

// Prepare ('P') and Stream Prepare ('p') share this layout.
struct Prepare {
  uint8_t flags = 0;  // always 0
  Lsn prepare_lsn;
  Lsn end_lsn;
  PgTimestamp prepare_time = 0;
  Xid xid;
  std::string gid;
  bool streamed = false;  // true for Stream Prepare ('p')
};

struct CommitPrepared {  // 'K'
  uint8_t flags = 0;  // always 0
  Lsn commit_lsn;
  Lsn end_lsn;
  PgTimestamp commit_time = 0;
  Xid xid;
  std::string gid;
};

struct RollbackPrepared {  // 'r'
  uint8_t flags = 0;  // always 0
  Lsn prepare_end_lsn;
  Lsn rollback_end_lsn;
  PgTimestamp prepare_time = 0;
  PgTimestamp rollback_time = 0;
  Xid xid;
  std::string gid;
};

using Message = std::variant<Begin, Commit, Origin, Relation, Type, Insert, Update, Delete, Truncate,
                             LogicalMessage, StreamStart, StreamStop, StreamCommit, StreamAbort, BeginPrepare,
                             Prepare, CommitPrepared, RollbackPrepared>;

// "Begin", "Relation", ... for logs and error messages.
const char* MessageName(const Message& message);

}  // namespace walferry::cdc

template <>
struct std::hash<walferry::cdc::RelationId> {
  size_t operator()(walferry::cdc::RelationId id) const noexcept { return std::hash<uint32_t>{}(id.value); }
};

template <>
struct std::hash<walferry::cdc::Xid> {
  size_t operator()(walferry::cdc::Xid xid) const noexcept { return std::hash<uint32_t>{}(xid.value); }
};
