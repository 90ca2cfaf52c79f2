// Unit tests for cdc/pgoutput_decoder. Fixtures are built byte by byte with WireBuilder following the layouts
// in docs/design/pgoutput.md; no server is involved. Run under -fsanitize=address,undefined: the truncation
// tests copy every prefix into an exactly-sized heap buffer so any read past the end is caught.
#include "cdc/pgoutput_decoder.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"

namespace walferry::cdc {
namespace {

// Big-endian writer for test fixtures.
class WireBuilder {
 public:
  WireBuilder& Byte(char c) { bytes_.push_back(c); return *this; }
  WireBuilder& U8(uint8_t v) { bytes_.push_back(static_cast<char>(v)); return *this; }
  WireBuilder& U16(uint16_t v) { return Big(v, 2); }
  WireBuilder& U32(uint32_t v) { return Big(v, 4); }
  WireBuilder& I32(int32_t v) { return Big(static_cast<uint32_t>(v), 4); }
  WireBuilder& U64(uint64_t v) { return Big(v, 8); }
  WireBuilder& I64(int64_t v) { return Big(static_cast<uint64_t>(v), 8); }
  WireBuilder& Str(std::string_view s) { bytes_.append(s); bytes_.push_back('\0'); return *this; }
  WireBuilder& Raw(std::string_view s) { bytes_.append(s); return *this; }
  // Tuple helpers: the column kind byte plus, for values, Int32 length and bytes.
  WireBuilder& Text(std::string_view v) { return Byte('t').I32(static_cast<int32_t>(v.size())).Raw(v); }
  WireBuilder& Binary(std::string_view v) { return Byte('b').I32(static_cast<int32_t>(v.size())).Raw(v); }
  WireBuilder& Null() { return Byte('n'); }
  WireBuilder& Toast() { return Byte('u'); }

  std::string str() const { return bytes_; }

 private:
  WireBuilder& Big(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) bytes_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
  std::string bytes_;
};

constexpr uint32_t kOrders = 16384;
constexpr uint32_t kStreamXid = 7777;

struct ColumnSpec {
  uint8_t flags;
  std::string name;
  uint32_t type_oid;
  int32_t typmod;
};

const std::vector<ColumnSpec> kOrderColumns = {
    {1, "id", 20, -1}, {0, "note", 25, -1}, {0, "amount", 1700, 655366}};

std::string RelationBytes(uint32_t id, std::string_view ns, std::string_view name, char identity,
                          const std::vector<ColumnSpec>& columns, std::optional<uint32_t> xid = std::nullopt) {
  WireBuilder b;
  b.Byte('R');
  if (xid) b.U32(*xid);
  b.U32(id).Str(ns).Str(name).Byte(identity).U16(static_cast<uint16_t>(columns.size()));
  for (const auto& c : columns) b.U8(c.flags).Str(c.name).U32(c.type_oid).I32(c.typmod);
  return b.str();
}

std::string OrdersRelation(std::optional<uint32_t> xid = std::nullopt) {
  return RelationBytes(kOrders, "public", "orders", 'd', kOrderColumns, xid);
}

std::string InsertBytes(std::optional<uint32_t> xid = std::nullopt) {
  WireBuilder b;
  b.Byte('I');
  if (xid) b.U32(*xid);
  b.U32(kOrders).Byte('N').U16(3).Text("42").Text("").Null();
  return b.str();
}

std::string StreamStartBytes(uint32_t xid = kStreamXid, uint8_t first = 1) {
  return WireBuilder().Byte('S').U32(xid).U8(first).str();
}

// A decoder that has seen the orders relation and, if asked, a Stream Start.
Decoder MakeDecoder(int version, bool streaming = false) {
  Decoder d(version);
  d.Decode(OrdersRelation());
  if (streaming) d.Decode(StreamStartBytes());
  return d;
}

// Decoded tuple values and message payloads are views into the input (see pgoutput_messages.h), so the
// fixtures must outlive the values the tests inspect: every input decoded through DecodeAs is kept until exit.
const std::string& KeepAlive(std::string bytes) {
  static std::deque<std::string> inputs;
  return inputs.emplace_back(std::move(bytes));
}

template <typename T>
T DecodeAs(Decoder& d, std::string bytes) {
  Message m = d.Decode(KeepAlive(std::move(bytes)));
  EXPECT_TRUE(std::holds_alternative<T>(m)) << "decoded a " << MessageName(m);
  return std::get<T>(std::move(m));
}

// Decodes and returns the kind of Error thrown, or fails the test if nothing was thrown.
template <typename Fn>
Error CatchError(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected an Error";
  return Error(ErrorKind::kInternal, "nothing thrown");
}

Error DecodeError(Decoder& d, const std::string& bytes) {
  return CatchError([&] { d.Decode(bytes); });
}

void ExpectProtocolError(Decoder& d, const std::string& bytes, std::string_view mentions) {
  const Error e = DecodeError(d, bytes);
  EXPECT_EQ(e.kind(), ErrorKind::kProtocol) << e.what();
  EXPECT_NE(std::string(e.what()).find(mentions), std::string::npos) << "'" << e.what() << "' lacks '" << mentions
                                                                      << "'";
}

// ---- Every message type ----------------------------------------------------------------------------------

TEST(PgoutputDecoder, DecodesBegin) {
  Decoder d(1);
  const auto m = DecodeAs<Begin>(d, WireBuilder().Byte('B').U64(0x16B374D848).I64(762611696789012).U32(991).str());
  EXPECT_EQ(m.final_lsn, Lsn(0x16B374D848));
  EXPECT_EQ(m.commit_time, 762611696789012);
  EXPECT_EQ(m.xid, Xid{991});
}

TEST(PgoutputDecoder, DecodesCommit) {
  Decoder d(1);
  const auto m = DecodeAs<Commit>(d, WireBuilder().Byte('C').U8(0).U64(100).U64(200).I64(-5).str());
  EXPECT_EQ(m.flags, 0);
  EXPECT_EQ(m.commit_lsn, Lsn(100));
  EXPECT_EQ(m.end_lsn, Lsn(200));
  EXPECT_EQ(m.commit_time, -5);
}

TEST(PgoutputDecoder, RejectsCommitWithUnknownFlags) {
  Decoder d(1);
  ExpectProtocolError(d, WireBuilder().Byte('C').U8(2).U64(100).U64(200).I64(0).str(), "unknown flags 2");
}

TEST(PgoutputDecoder, DecodesOrigin) {
  Decoder d(1);
  const auto m = DecodeAs<Origin>(d, WireBuilder().Byte('O').U64(0x42).Str("node_a").str());
  EXPECT_EQ(m.commit_lsn, Lsn(0x42));
  EXPECT_EQ(m.name, "node_a");
}

TEST(PgoutputDecoder, DecodesRelationAndCachesIt) {
  Decoder d(1);
  const auto m = DecodeAs<Relation>(d, OrdersRelation());
  EXPECT_FALSE(m.xid.has_value());
  EXPECT_EQ(m.relation_id, RelationId{kOrders});
  EXPECT_EQ(m.namespace_name, "public");
  EXPECT_EQ(m.name, "orders");
  EXPECT_EQ(m.replica_identity, ReplicaIdentity::kDefault);
  ASSERT_EQ(m.columns.size(), 3u);
  EXPECT_TRUE(m.columns[0].is_key());
  EXPECT_EQ(m.columns[0].name, "id");
  EXPECT_EQ(m.columns[0].type_oid, TypeOid{20});
  EXPECT_FALSE(m.columns[1].is_key());
  EXPECT_EQ(m.columns[2].type_modifier, 655366);

  const Relation* cached = d.FindRelation(RelationId{kOrders});
  ASSERT_NE(cached, nullptr);
  EXPECT_EQ(cached->name, "orders");
  EXPECT_EQ(d.FindRelation(RelationId{kOrders + 1}), nullptr);
}

TEST(PgoutputDecoder, MapsEmptyNamespaceToPgCatalog) {
  Decoder d(1);
  EXPECT_EQ(DecodeAs<Relation>(d, RelationBytes(1259, "", "pg_class", 'n', {})).namespace_name, "pg_catalog");
  EXPECT_EQ(DecodeAs<Type>(d, WireBuilder().Byte('Y').U32(16).Str("").Str("bool").str()).namespace_name,
            "pg_catalog");
}

TEST(PgoutputDecoder, DecodesEveryReplicaIdentity) {
  Decoder d(1);
  EXPECT_EQ(DecodeAs<Relation>(d, RelationBytes(1, "s", "a", 'd', {})).replica_identity, ReplicaIdentity::kDefault);
  EXPECT_EQ(DecodeAs<Relation>(d, RelationBytes(2, "s", "b", 'n', {})).replica_identity, ReplicaIdentity::kNothing);
  EXPECT_EQ(DecodeAs<Relation>(d, RelationBytes(3, "s", "c", 'f', {})).replica_identity, ReplicaIdentity::kFull);
  EXPECT_EQ(DecodeAs<Relation>(d, RelationBytes(4, "s", "d", 'i', {})).replica_identity, ReplicaIdentity::kIndex);
}

TEST(PgoutputDecoder, RejectsUnknownReplicaIdentity) {
  Decoder d(1);
  ExpectProtocolError(d, RelationBytes(1, "s", "a", 'x', {}), "unknown replica identity 'x'");
}

TEST(PgoutputDecoder, DecodesType) {
  Decoder d(1);
  const auto m = DecodeAs<Type>(d, WireBuilder().Byte('Y').U32(70001).Str("app").Str("mood").str());
  EXPECT_FALSE(m.xid.has_value());
  EXPECT_EQ(m.type_oid, TypeOid{70001});
  EXPECT_EQ(m.namespace_name, "app");
  EXPECT_EQ(m.name, "mood");
}

TEST(PgoutputDecoder, DecodesInsertKeepingNullAndEmptyTextApart) {
  Decoder d = MakeDecoder(1);
  const auto m = DecodeAs<Insert>(d, InsertBytes());
  EXPECT_FALSE(m.xid.has_value());
  EXPECT_EQ(m.relation_id, RelationId{kOrders});
  ASSERT_EQ(m.new_tuple.columns.size(), 3u);
  EXPECT_EQ(m.new_tuple.columns[0].kind, ColumnKind::kText);
  EXPECT_EQ(m.new_tuple.columns[0].bytes, "42");
  EXPECT_EQ(m.new_tuple.columns[1].kind, ColumnKind::kText);  // '' is a value...
  EXPECT_EQ(m.new_tuple.columns[1].bytes, "");
  EXPECT_EQ(m.new_tuple.columns[2].kind, ColumnKind::kNull);  // ...and NULL is not
}

TEST(PgoutputDecoder, DecodesBinaryColumnWithEmbeddedNul) {
  Decoder d = MakeDecoder(1);
  const std::string raw("\x00\x01\x00\xff", 4);
  const auto m = DecodeAs<Insert>(
      d, WireBuilder().Byte('I').U32(kOrders).Byte('N').U16(3).Binary(raw).Binary("").Text("1.5").str());
  EXPECT_EQ(m.new_tuple.columns[0].kind, ColumnKind::kBinary);
  EXPECT_EQ(m.new_tuple.columns[0].bytes, raw);
  EXPECT_EQ(m.new_tuple.columns[1].kind, ColumnKind::kBinary);
  EXPECT_EQ(m.new_tuple.columns[1].bytes.size(), 0u);
}

TEST(PgoutputDecoder, KeepsUnchangedToastAsItsOwnState) {
  Decoder d = MakeDecoder(1);
  const auto m = DecodeAs<Update>(
      d, WireBuilder().Byte('U').U32(kOrders).Byte('N').U16(3).Text("42").Toast().Null().str());
  EXPECT_FALSE(m.old.has_value());
  EXPECT_EQ(m.new_tuple.columns[1].kind, ColumnKind::kUnchangedToast);
  EXPECT_NE(m.new_tuple.columns[1].kind, ColumnKind::kNull);
  EXPECT_NE(m.new_tuple.columns[1].kind, ColumnKind::kText);
  EXPECT_EQ(m.new_tuple.columns[2].kind, ColumnKind::kNull);
}

TEST(PgoutputDecoder, DecodesUpdateWithOldKey) {
  Decoder d = MakeDecoder(1);
  const auto m = DecodeAs<Update>(d, WireBuilder()
                                         .Byte('U').U32(kOrders)
                                         .Byte('K').U16(3).Text("41").Null().Null()
                                         .Byte('N').U16(3).Text("42").Text("x").Text("1")
                                         .str());
  ASSERT_TRUE(m.old.has_value());
  EXPECT_EQ(m.old->kind, OldTupleKind::kKey);
  EXPECT_EQ(m.old->tuple.columns[0].bytes, "41");
  EXPECT_EQ(m.old->tuple.columns[1].kind, ColumnKind::kNull);
  EXPECT_EQ(m.new_tuple.columns[0].bytes, "42");
}

TEST(PgoutputDecoder, DecodesUpdateWithOldFullRow) {
  Decoder d = MakeDecoder(1);
  const auto m = DecodeAs<Update>(d, WireBuilder()
                                         .Byte('U').U32(kOrders)
                                         .Byte('O').U16(3).Text("42").Text("old").Text("1")
                                         .Byte('N').U16(3).Text("42").Text("new").Text("1")
                                         .str());
  ASSERT_TRUE(m.old.has_value());
  EXPECT_EQ(m.old->kind, OldTupleKind::kFull);
  EXPECT_EQ(m.old->tuple.columns[1].bytes, "old");
  EXPECT_EQ(m.new_tuple.columns[1].bytes, "new");
}

TEST(PgoutputDecoder, RejectsUpdateWithoutNewTuple) {
  Decoder d = MakeDecoder(1);
  ExpectProtocolError(d, WireBuilder().Byte('U').U32(kOrders).Byte('K').U16(3).Null().Null().Null().Byte('K').str(),
                      "expected tuple marker 'N'");
}

TEST(PgoutputDecoder, DecodesDeleteWithKeyAndWithFullRow) {
  Decoder d = MakeDecoder(1);
  const auto key = DecodeAs<Delete>(d, WireBuilder().Byte('D').U32(kOrders).Byte('K').U16(3).Text("42").Null().Null().str());
  EXPECT_EQ(key.old.kind, OldTupleKind::kKey);
  EXPECT_EQ(key.old.tuple.columns[0].bytes, "42");
  const auto full =
      DecodeAs<Delete>(d, WireBuilder().Byte('D').U32(kOrders).Byte('O').U16(3).Text("42").Text("n").Text("3").str());
  EXPECT_EQ(full.old.kind, OldTupleKind::kFull);
  EXPECT_EQ(full.old.tuple.columns[2].bytes, "3");
}

TEST(PgoutputDecoder, RejectsDeleteWithNewTupleMarker) {
  Decoder d = MakeDecoder(1);
  ExpectProtocolError(d, WireBuilder().Byte('D').U32(kOrders).Byte('N').U16(3).Null().Null().Null().str(),
                      "expected old tuple marker 'K' or 'O', got 'N'");
}

TEST(PgoutputDecoder, RejectsInsertWithoutNewTupleMarker) {
  Decoder d = MakeDecoder(1);
  ExpectProtocolError(d, WireBuilder().Byte('I').U32(kOrders).Byte('K').U16(3).Null().Null().Null().str(),
                      "expected new tuple marker 'N'");
}

TEST(PgoutputDecoder, DecodesTruncateWithOptions) {
  Decoder d = MakeDecoder(1);
  d.Decode(RelationBytes(16390, "public", "lines", 'd', {{1, "id", 20, -1}}));
  const auto m = DecodeAs<Truncate>(d, WireBuilder().Byte('T').I32(2).U8(3).U32(kOrders).U32(16390).str());
  EXPECT_FALSE(m.xid.has_value());
  EXPECT_TRUE(m.cascade);
  EXPECT_TRUE(m.restart_identity);
  ASSERT_EQ(m.relation_ids.size(), 2u);
  EXPECT_EQ(m.relation_ids[1], RelationId{16390});

  const auto plain = DecodeAs<Truncate>(d, WireBuilder().Byte('T').I32(1).U8(0).U32(kOrders).str());
  EXPECT_FALSE(plain.cascade);
  EXPECT_FALSE(plain.restart_identity);
}

TEST(PgoutputDecoder, RejectsTruncateWithUnknownOptionBits) {
  Decoder d = MakeDecoder(1);
  ExpectProtocolError(d, WireBuilder().Byte('T').I32(1).U8(4).U32(kOrders).str(), "unknown truncate flags 4");
}

TEST(PgoutputDecoder, RejectsTruncateOfUndescribedRelation) {
  Decoder d = MakeDecoder(1);
  ExpectProtocolError(d, WireBuilder().Byte('T').I32(1).U8(0).U32(99).str(), "relation id 99");
}

TEST(PgoutputDecoder, RejectsNegativeTruncateCount) {
  Decoder d = MakeDecoder(1);
  ExpectProtocolError(d, WireBuilder().Byte('T').I32(-1).U8(0).str(), "negative truncated relation count");
}

TEST(PgoutputDecoder, DecodesLogicalMessages) {
  Decoder d(1);
  const std::string content("a\0b", 3);
  const auto tx = DecodeAs<LogicalMessage>(
      d, WireBuilder().Byte('M').U8(1).U64(0x99).Str("walferry").I32(3).Raw(content).str());
  EXPECT_FALSE(tx.xid.has_value());
  EXPECT_TRUE(tx.transactional);
  EXPECT_EQ(tx.lsn, Lsn(0x99));
  EXPECT_EQ(tx.prefix, "walferry");
  EXPECT_EQ(tx.content, content);

  const auto nontx = DecodeAs<LogicalMessage>(d, WireBuilder().Byte('M').U8(0).U64(1).Str("p").I32(0).str());
  EXPECT_FALSE(nontx.transactional);
  EXPECT_TRUE(nontx.content.empty());
}

TEST(PgoutputDecoder, RejectsLogicalMessageWithNegativeLength) {
  Decoder d(1);
  ExpectProtocolError(d, WireBuilder().Byte('M').U8(0).U64(1).Str("p").I32(-2).str(),
                      "negative message content length");
}

// ---- Streaming (protocol >= 2) -----------------------------------------------------------------------------

TEST(PgoutputDecoder, DecodesStreamStartAndStop) {
  Decoder d(2);
  const auto start = DecodeAs<StreamStart>(d, StreamStartBytes(kStreamXid, 1));
  EXPECT_EQ(start.xid, Xid{kStreamXid});
  EXPECT_TRUE(start.first_segment);
  EXPECT_TRUE(d.streaming_active());
  DecodeAs<StreamStop>(d, "E");
  EXPECT_FALSE(d.streaming_active());
  EXPECT_FALSE(DecodeAs<StreamStart>(d, StreamStartBytes(kStreamXid, 0)).first_segment);
}

TEST(PgoutputDecoder, ReadsXidOfChangesOnlyInsideStreamBlock) {
  Decoder d(2);
  d.Decode(OrdersRelation());
  // Outside a stream block the v2 layout is the v1 layout.
  EXPECT_FALSE(DecodeAs<Insert>(d, InsertBytes()).xid.has_value());

  d.Decode(StreamStartBytes());
  const auto rel = DecodeAs<Relation>(d, OrdersRelation(kStreamXid));
  EXPECT_EQ(rel.xid, Xid{kStreamXid});
  const auto ins = DecodeAs<Insert>(d, InsertBytes(kStreamXid));
  EXPECT_EQ(ins.xid, Xid{kStreamXid});
  EXPECT_EQ(ins.new_tuple.columns[0].bytes, "42");
  const auto typ = DecodeAs<Type>(d, WireBuilder().Byte('Y').U32(kStreamXid).U32(5).Str("s").Str("t").str());
  EXPECT_EQ(typ.xid, Xid{kStreamXid});
  EXPECT_EQ(typ.type_oid, TypeOid{5});
  const auto upd = DecodeAs<Update>(
      d, WireBuilder().Byte('U').U32(kStreamXid).U32(kOrders).Byte('N').U16(3).Null().Toast().Null().str());
  EXPECT_EQ(upd.xid, Xid{kStreamXid});
  const auto del =
      DecodeAs<Delete>(d, WireBuilder().Byte('D').U32(kStreamXid).U32(kOrders).Byte('K').U16(3).Text("1").Null().Null().str());
  EXPECT_EQ(del.xid, Xid{kStreamXid});
  const auto tr = DecodeAs<Truncate>(d, WireBuilder().Byte('T').U32(kStreamXid).I32(1).U8(1).U32(kOrders).str());
  EXPECT_EQ(tr.xid, Xid{kStreamXid});
  EXPECT_TRUE(tr.cascade);
  const auto msg =
      DecodeAs<LogicalMessage>(d, WireBuilder().Byte('M').U32(kStreamXid).U8(1).U64(9).Str("p").I32(1).Raw("z").str());
  EXPECT_EQ(msg.xid, Xid{kStreamXid});
  EXPECT_EQ(msg.content, "z");
  // Origin has no xid field even inside a block.
  EXPECT_EQ(DecodeAs<Origin>(d, WireBuilder().Byte('O').U64(0).Str("o").str()).name, "o");

  d.Decode("E");
  EXPECT_FALSE(DecodeAs<Insert>(d, InsertBytes()).xid.has_value());
}

TEST(PgoutputDecoder, ProtocolOneNeverReadsAnXid) {
  Decoder d = MakeDecoder(1);
  // The same bytes a v2 stream block would carry are, under v1, a relation id of 7777 that was never described.
  ExpectProtocolError(d, InsertBytes(kStreamXid), "relation id 7777");
}

TEST(PgoutputDecoder, DecodesStreamCommitAndAbort) {
  Decoder d(2);
  const auto c = DecodeAs<StreamCommit>(d, WireBuilder().Byte('c').U32(kStreamXid).U8(0).U64(10).U64(20).I64(30).str());
  EXPECT_EQ(c.xid, Xid{kStreamXid});
  EXPECT_EQ(c.commit_lsn, Lsn(10));
  EXPECT_EQ(c.end_lsn, Lsn(20));
  EXPECT_EQ(c.commit_time, 30);
  const auto a = DecodeAs<StreamAbort>(d, WireBuilder().Byte('A').U32(kStreamXid).U32(kStreamXid + 1).str());
  EXPECT_EQ(a.xid, Xid{kStreamXid});
  EXPECT_EQ(a.subxid, Xid{kStreamXid + 1});
}

TEST(PgoutputDecoder, RejectsStreamingMessagesUnderProtocolOne) {
  Decoder d(1);
  ExpectProtocolError(d, StreamStartBytes(), "needs protocol version 2");
  ExpectProtocolError(d, "E", "needs protocol version 2");
  EXPECT_FALSE(d.streaming_active());
}

TEST(PgoutputDecoder, RejectsStreamStopWithoutStart) {
  Decoder d(2);
  ExpectProtocolError(d, "E", "Stream Stop without a preceding Stream Start");
}

TEST(PgoutputDecoder, RejectsTransactionFramingInsideStreamBlock) {
  Decoder d(2);
  d.Decode(StreamStartBytes());
  ExpectProtocolError(d, StreamStartBytes(), "inside a streamed block");
  ExpectProtocolError(d, WireBuilder().Byte('B').U64(1).I64(0).U32(1).str(), "inside a streamed block");
  ExpectProtocolError(d, WireBuilder().Byte('c').U32(kStreamXid).U8(0).U64(10).U64(20).I64(30).str(),
                      "inside a streamed block");
  EXPECT_TRUE(d.streaming_active());
}

TEST(PgoutputDecoder, RejectsStreamStartWithBadFirstSegmentFlag) {
  Decoder d(2);
  ExpectProtocolError(d, StreamStartBytes(kStreamXid, 2), "first segment flag is 2");
  EXPECT_FALSE(d.streaming_active());
}

// ---- Two-phase commit (protocol 3) ---------------------------------------------------------------------------

TEST(PgoutputDecoder, DecodesTwoPhaseMessages) {
  Decoder d(3);
  const auto bp =
      DecodeAs<BeginPrepare>(d, WireBuilder().Byte('b').U64(1).U64(2).I64(3).U32(4).Str("gid-1").str());
  EXPECT_EQ(bp.prepare_lsn, Lsn(1));
  EXPECT_EQ(bp.end_lsn, Lsn(2));
  EXPECT_EQ(bp.prepare_time, 3);
  EXPECT_EQ(bp.xid, Xid{4});
  EXPECT_EQ(bp.gid, "gid-1");

  const auto p = DecodeAs<Prepare>(d, WireBuilder().Byte('P').U8(0).U64(1).U64(2).I64(3).U32(4).Str("gid-1").str());
  EXPECT_FALSE(p.streamed);
  EXPECT_EQ(p.gid, "gid-1");
  const Message sp = d.Decode(WireBuilder().Byte('p').U8(0).U64(1).U64(2).I64(3).U32(4).Str("g").str());
  EXPECT_TRUE(std::get<Prepare>(sp).streamed);
  EXPECT_STREQ(MessageName(sp), "Stream Prepare");

  const auto cp =
      DecodeAs<CommitPrepared>(d, WireBuilder().Byte('K').U8(0).U64(5).U64(6).I64(7).U32(4).Str("gid-1").str());
  EXPECT_EQ(cp.commit_lsn, Lsn(5));
  EXPECT_EQ(cp.end_lsn, Lsn(6));
  EXPECT_EQ(cp.commit_time, 7);

  const auto rp = DecodeAs<RollbackPrepared>(
      d, WireBuilder().Byte('r').U8(0).U64(5).U64(6).I64(7).I64(8).U32(4).Str("gid-2").str());
  EXPECT_EQ(rp.prepare_end_lsn, Lsn(5));
  EXPECT_EQ(rp.rollback_end_lsn, Lsn(6));
  EXPECT_EQ(rp.prepare_time, 7);
  EXPECT_EQ(rp.rollback_time, 8);
  EXPECT_EQ(rp.gid, "gid-2");
}

TEST(PgoutputDecoder, RejectsTwoPhaseMessagesBelowProtocolThree) {
  Decoder d(2);
  ExpectProtocolError(d, WireBuilder().Byte('b').U64(1).U64(2).I64(3).U32(4).Str("g").str(),
                      "needs protocol version 3");
}

TEST(PgoutputDecoder, AcceptsOnlyProtocolVersionsOneToFour) {
  for (int v : {0, 5, -1}) {
    EXPECT_EQ(CatchError([&] { Decoder d(v); }).kind(), ErrorKind::kUsage) << v;
  }
  for (int v : {1, 2, 3, 4}) EXPECT_EQ(Decoder(v).protocol_version(), v);
  // streaming = parallel exists from protocol 4 only.
  for (int v : {1, 2, 3}) EXPECT_EQ(CatchError([&] { Decoder d(v, true); }).kind(), ErrorKind::kUsage) << v;
}

// Protocol 4 with streaming = on (what walferry asks for): Stream Abort is xid + subxid, as in 2 and 3.
TEST(PgoutputDecoder, DecodesProtocolFourStreamAbortWithoutParallelFields) {
  Decoder d(4);
  const auto a = DecodeAs<StreamAbort>(d, WireBuilder().Byte('A').U32(kStreamXid).U32(kStreamXid + 2).str());
  EXPECT_EQ(a.subxid, Xid{kStreamXid + 2});
  EXPECT_FALSE(a.abort_lsn.has_value());
  EXPECT_FALSE(a.abort_time.has_value());
  // The parallel layout's extra 16 bytes are trailing bytes here, never silently read.
  ExpectProtocolError(d, WireBuilder().Byte('A').U32(1).U32(2).U64(3).I64(4).str(), "trailing");
}

// Protocol 4 with streaming = parallel: Stream Abort also carries the abort LSN and time.
TEST(PgoutputDecoder, DecodesParallelStreamAbortAndRejectsItCut) {
  const std::string bytes = WireBuilder().Byte('A').U32(kStreamXid).U32(kStreamXid).U64(0x1234).I64(99).str();
  Decoder d(4, true);
  const auto a = DecodeAs<StreamAbort>(d, bytes);
  EXPECT_EQ(a.xid, Xid{kStreamXid});
  EXPECT_EQ(a.abort_lsn, Lsn(0x1234));
  EXPECT_EQ(a.abort_time, 99);
  for (size_t len = 0; len < bytes.size(); ++len) {
    auto prefix = std::make_unique<char[]>(len);
    std::copy_n(bytes.data(), len, prefix.get());
    EXPECT_EQ(CatchError([&] { d.Decode(std::string_view(prefix.get(), len)); }).kind(), ErrorKind::kProtocol)
        << "cut at " << len;
  }
}

// A second decoder replaying spilled stream messages starts from the first one's relations.
TEST(PgoutputDecoder, CopiesRelationsForAReplayDecoder) {
  Decoder live = MakeDecoder(2);
  Decoder replay(2);
  EXPECT_EQ(replay.FindRelation(RelationId{kOrders}), nullptr);
  replay.CopyRelationsFrom(live);
  ASSERT_NE(replay.FindRelation(RelationId{kOrders}), nullptr);
  replay.Decode(StreamStartBytes());
  EXPECT_EQ(DecodeAs<Insert>(replay, InsertBytes(kStreamXid)).xid, Xid{kStreamXid});
}

// ---- Relation cache ------------------------------------------------------------------------------------------

TEST(PgoutputDecoder, UsesRelationReplacedMidStream) {
  Decoder d = MakeDecoder(1);
  d.Decode(InsertBytes());
  // ALTER TABLE orders ADD COLUMN ...: the server sends a new 'R' before the next change.
  auto columns = kOrderColumns;
  columns.push_back({0, "shipped", 16, -1});
  d.Decode(RelationBytes(kOrders, "public", "orders", 'f', columns));
  const Relation* rel = d.FindRelation(RelationId{kOrders});
  ASSERT_NE(rel, nullptr);
  EXPECT_EQ(rel->columns.size(), 4u);
  EXPECT_EQ(rel->replica_identity, ReplicaIdentity::kFull);

  const auto m = DecodeAs<Insert>(
      d, WireBuilder().Byte('I').U32(kOrders).Byte('N').U16(4).Text("1").Null().Null().Text("t").str());
  EXPECT_EQ(m.new_tuple.columns[3].bytes, "t");
  // The old shape no longer matches.
  ExpectProtocolError(d, InsertBytes(), "new tuple has 3 column(s) but public.orders (relation id 16384) was "
                                        "described with 4");
}

TEST(PgoutputDecoder, RejectsChangeForUndescribedRelation) {
  Decoder d(1);
  ExpectProtocolError(d, InsertBytes(), "relation id 16384 that no Relation message described");
  ExpectProtocolError(d, WireBuilder().Byte('D').U32(kOrders).Byte('K').U16(0).str(), "relation id 16384");
  ExpectProtocolError(d, WireBuilder().Byte('U').U32(kOrders).Byte('N').U16(0).str(), "relation id 16384");
}

TEST(PgoutputDecoder, RejectsTupleWithTooFewColumns) {
  Decoder d = MakeDecoder(1);
  ExpectProtocolError(d, WireBuilder().Byte('I').U32(kOrders).Byte('N').U16(2).Null().Null().str(),
                      "new tuple has 2 column(s)");
}

TEST(PgoutputDecoder, RejectsOldKeyTupleWithTooManyColumns) {
  Decoder d = MakeDecoder(1);
  ExpectProtocolError(
      d, WireBuilder().Byte('D').U32(kOrders).Byte('K').U16(4).Null().Null().Null().Null().str(),
      "old key tuple has 4 column(s)");
}

TEST(PgoutputDecoder, FailedRelationDoesNotReplaceCachedOne) {
  Decoder d = MakeDecoder(1);
  const std::string replacement = RelationBytes(kOrders, "public", "renamed", 'd', kOrderColumns);
  EXPECT_EQ(DecodeError(d, replacement.substr(0, replacement.size() - 1)).kind(), ErrorKind::kProtocol);
  EXPECT_EQ(DecodeError(d, replacement + "x").kind(), ErrorKind::kProtocol);
  EXPECT_EQ(d.FindRelation(RelationId{kOrders})->name, "orders");
}

// ---- Malformed input -----------------------------------------------------------------------------------------

TEST(PgoutputDecoder, RejectsEmptyMessage) {
  Decoder d(1);
  ExpectProtocolError(d, "", "truncated data reading message type");
}

TEST(PgoutputDecoder, RejectsUnknownMessageType) {
  Decoder d(1);
  ExpectProtocolError(d, "Z", "unknown pgoutput message type 'Z'");
  ExpectProtocolError(d, std::string(1, '\x01') + "abc", "unknown pgoutput message type 0x01");
}

TEST(PgoutputDecoder, RejectsUnknownTupleColumnKind) {
  Decoder d = MakeDecoder(1);
  const Error e = DecodeError(d, WireBuilder().Byte('I').U32(kOrders).Byte('N').U16(3).Text("1").Byte('x').Null().str());
  EXPECT_EQ(e.kind(), ErrorKind::kProtocol);
  const std::string what = e.what();
  EXPECT_NE(what.find("unknown tuple column kind 'x'"), std::string::npos) << what;
  EXPECT_NE(what.find("column 2 (note)"), std::string::npos) << what;
  EXPECT_NE(what.find("decoding pgoutput Insert message"), std::string::npos) << what;
}

TEST(PgoutputDecoder, RejectsNegativeColumnLength) {
  Decoder d = MakeDecoder(1);
  ExpectProtocolError(d, WireBuilder().Byte('I').U32(kOrders).Byte('N').U16(3).Byte('t').I32(-1).Null().Null().str(),
                      "negative column value length -1");
}

TEST(PgoutputDecoder, RejectsRelationCutInsideColumnName) {
  Decoder d(1);
  const std::string full = OrdersRelation();
  // Cut after "no" of the second column name "note".
  const size_t cut = full.find("note") + 2;
  const Error e = DecodeError(d, full.substr(0, cut));
  EXPECT_EQ(e.kind(), ErrorKind::kProtocol);
  const std::string what = e.what();
  EXPECT_NE(what.find("column name"), std::string::npos) << what;
  EXPECT_NE(what.find("column 2 of 3 of public.orders"), std::string::npos) << what;
  EXPECT_EQ(d.FindRelation(RelationId{kOrders}), nullptr);
}

TEST(PgoutputDecoder, RejectsColumnValueLongerThanMessage) {
  Decoder d = MakeDecoder(1);
  ExpectProtocolError(d, WireBuilder().Byte('I').U32(kOrders).Byte('N').U16(3).Byte('t').I32(1000).Raw("ab").str(),
                      "truncated data reading column value");
}

// One valid message per type, with the decoder state it needs.
struct Fixture {
  std::string name;
  int version;
  bool streaming;  // decoder has seen a Stream Start
  std::string bytes;
};

std::vector<Fixture> AllValidMessages() {
  const auto x = std::optional<uint32_t>(kStreamXid);
  std::vector<Fixture> f = {
      {"Begin", 1, false, WireBuilder().Byte('B').U64(1).I64(2).U32(3).str()},
      {"Commit", 1, false, WireBuilder().Byte('C').U8(0).U64(1).U64(2).I64(3).str()},
      {"Origin", 1, false, WireBuilder().Byte('O').U64(1).Str("origin").str()},
      {"Relation", 1, false, OrdersRelation()},
      {"Type", 1, false, WireBuilder().Byte('Y').U32(5).Str("ns").Str("typ").str()},
      {"Insert", 1, false, InsertBytes()},
      {"UpdateNewOnly", 1, false, WireBuilder().Byte('U').U32(kOrders).Byte('N').U16(3).Text("1").Toast().Null().str()},
      {"UpdateOldKey", 1, false,
       WireBuilder().Byte('U').U32(kOrders).Byte('K').U16(3).Text("1").Null().Null().Byte('N').U16(3).Text("2")
           .Text("").Binary("b").str()},
      {"UpdateOldFull", 1, false,
       WireBuilder().Byte('U').U32(kOrders).Byte('O').U16(3).Text("1").Toast().Null().Byte('N').U16(3).Text("2")
           .Toast().Null().str()},
      {"DeleteKey", 1, false, WireBuilder().Byte('D').U32(kOrders).Byte('K').U16(3).Text("1").Null().Null().str()},
      {"DeleteFull", 1, false, WireBuilder().Byte('D').U32(kOrders).Byte('O').U16(3).Text("1").Text("n").Null().str()},
      {"Truncate", 1, false, WireBuilder().Byte('T').I32(1).U8(3).U32(kOrders).str()},
      {"Message", 1, false, WireBuilder().Byte('M').U8(1).U64(1).Str("pfx").I32(3).Raw("abc").str()},
      {"StreamStart", 2, false, StreamStartBytes()},
      {"StreamStop", 2, true, "E"},
      {"StreamCommit", 2, false, WireBuilder().Byte('c').U32(1).U8(0).U64(1).U64(2).I64(3).str()},
      {"StreamAbort", 2, false, WireBuilder().Byte('A').U32(1).U32(2).str()},
      {"StreamStartV4", 4, false, StreamStartBytes()},
      {"StreamCommitV4", 4, false, WireBuilder().Byte('c').U32(1).U8(0).U64(1).U64(2).I64(3).str()},
      {"StreamAbortV4", 4, false, WireBuilder().Byte('A').U32(1).U32(2).str()},
      {"StreamedInsertV4", 4, true, InsertBytes(x)},
      {"StreamedRelation", 2, true, OrdersRelation(x)},
      {"StreamedType", 2, true, WireBuilder().Byte('Y').U32(kStreamXid).U32(5).Str("ns").Str("typ").str()},
      {"StreamedInsert", 2, true, InsertBytes(x)},
      {"StreamedUpdate", 2, true,
       WireBuilder().Byte('U').U32(kStreamXid).U32(kOrders).Byte('K').U16(3).Text("1").Null().Null().Byte('N')
           .U16(3).Text("2").Null().Null().str()},
      {"StreamedDelete", 2, true,
       WireBuilder().Byte('D').U32(kStreamXid).U32(kOrders).Byte('O').U16(3).Text("1").Null().Null().str()},
      {"StreamedTruncate", 2, true, WireBuilder().Byte('T').U32(kStreamXid).I32(1).U8(0).U32(kOrders).str()},
      {"StreamedMessage", 2, true,
       WireBuilder().Byte('M').U32(kStreamXid).U8(1).U64(1).Str("pfx").I32(2).Raw("ab").str()},
      {"BeginPrepare", 3, false, WireBuilder().Byte('b').U64(1).U64(2).I64(3).U32(4).Str("g").str()},
      {"Prepare", 3, false, WireBuilder().Byte('P').U8(0).U64(1).U64(2).I64(3).U32(4).Str("g").str()},
      {"StreamPrepare", 3, false, WireBuilder().Byte('p').U8(0).U64(1).U64(2).I64(3).U32(4).Str("g").str()},
      {"CommitPrepared", 3, false, WireBuilder().Byte('K').U8(0).U64(1).U64(2).I64(3).U32(4).Str("g").str()},
      {"RollbackPrepared", 3, false,
       WireBuilder().Byte('r').U8(0).U64(1).U64(2).I64(3).I64(4).U32(5).Str("g").str()},
  };
  return f;
}

TEST(PgoutputDecoder, DecodesEveryFixture) {
  for (const auto& f : AllValidMessages()) {
    Decoder d = MakeDecoder(f.version, f.streaming);
    EXPECT_NO_THROW(d.Decode(f.bytes)) << f.name;
  }
}

TEST(PgoutputDecoder, RejectsEveryMessageCutAtEveryLength) {
  for (const auto& f : AllValidMessages()) {
    for (size_t len = 0; len < f.bytes.size(); ++len) {
      Decoder d = MakeDecoder(f.version, f.streaming);
      // An exactly-sized heap copy: ASan reports any read past `len`.
      auto prefix = std::make_unique<char[]>(len);
      std::copy_n(f.bytes.data(), len, prefix.get());
      const Error e = DecodeError(d, std::string(prefix.get(), len));
      const Error e_view = CatchError([&] { d.Decode(std::string_view(prefix.get(), len)); });
      EXPECT_EQ(e.kind(), ErrorKind::kProtocol) << f.name << " cut at " << len << ": " << e.what();
      EXPECT_EQ(e_view.kind(), ErrorKind::kProtocol) << f.name << " cut at " << len << ": " << e_view.what();
      // A failed decode changes no state.
      EXPECT_EQ(d.streaming_active(), f.streaming) << f.name << " cut at " << len;
      EXPECT_EQ(d.FindRelation(RelationId{kOrders})->columns.size(), 3u) << f.name << " cut at " << len;
    }
  }
}

TEST(PgoutputDecoder, RejectsEveryMessageWithTrailingBytes) {
  for (const auto& f : AllValidMessages()) {
    Decoder d = MakeDecoder(f.version, f.streaming);
    const Error e = DecodeError(d, f.bytes + std::string(1, '\0'));
    EXPECT_EQ(e.kind(), ErrorKind::kProtocol) << f.name;
    EXPECT_NE(std::string(e.what()).find("trailing"), std::string::npos) << f.name << ": " << e.what();
    EXPECT_EQ(d.streaming_active(), f.streaming) << f.name;
  }
}

TEST(PgoutputDecoder, NamesTheMessageInErrorContext) {
  Decoder d(1);
  const std::string begin = WireBuilder().Byte('B').U64(1).I64(2).U32(3).str();
  const Error e = DecodeError(d, begin.substr(0, 10));
  EXPECT_NE(std::string(e.what()).find("decoding pgoutput Begin message (10 bytes): truncated data reading "
                                       "commit timestamp"),
            std::string::npos)
      << e.what();
}

// ---- Timestamps ----------------------------------------------------------------------------------------------

TEST(PgoutputDecoder, FormatsTimestampsAsIsoUtc) {
  EXPECT_EQ(FormatPgTimestamp(0), "2000-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatPgTimestamp(762611696789012), "2024-03-01T12:34:56.789012Z");
  EXPECT_EQ(FormatPgTimestamp(5183999999999), "2000-02-29T23:59:59.999999Z");
  EXPECT_EQ(FormatPgTimestamp(-1), "1999-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatPgTimestamp(-946684800000000), "1970-01-01T00:00:00.000000Z");
  // PostgreSQL's last representable instant (END_TIMESTAMP - 1).
  EXPECT_EQ(FormatPgTimestamp(9223371331200000000 - 1), "294276-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatPgTimestamp(std::numeric_limits<int64_t>::max()), "infinity");
  EXPECT_EQ(FormatPgTimestamp(std::numeric_limits<int64_t>::min()), "-infinity");
}

TEST(PgoutputDecoder, NamesEveryMessageAlternative) {
  EXPECT_STREQ(MessageName(Message{Begin{}}), "Begin");
  EXPECT_STREQ(MessageName(Message{LogicalMessage{}}), "Message");
  EXPECT_STREQ(MessageName(Message{RollbackPrepared{}}), "Rollback Prepared");
  EXPECT_STREQ(MessageName(Message{Prepare{}}), "Prepare");
}

}  // namespace
}  // namespace walferry::cdc
