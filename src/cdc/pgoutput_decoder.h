// cdc/pgoutput_decoder.h
//
// Turns one pgoutput message (the payload of one XLogData) into a typed Message. Pure: no I/O, no logging, no
// globals. Byte layouts and the full contract: docs/design/pgoutput.md.
//
// What it does not do: apply changes, interpret column values (text/binary bytes are passed through), or decide
// what a streamed transaction means -- it only reports the messages in order.
//
// Ownership: the Decoder owns its relation cache. A returned Message may hold string_views into `bytes`
// (see the lifetime rule in cdc/pgoutput_messages.h).
// Thread safety: none; one Decoder per replication stream, fed every message of that stream in order.
// Invariants:
//   - FindRelation(id) returns the latest 'R' message decoded for id (a later 'R' replaces an earlier one).
//   - streaming_active() is true exactly between a decoded Stream Start and the matching Stream Stop.
//   - A message that fails to decode changes no state: the cache and the streaming flag are updated only after
//     the whole message, including the check for trailing bytes, decoded.
#pragma once

#include <string_view>
#include <unordered_map>

#include "cdc/pgoutput_messages.h"

namespace walferry::cdc {

class Decoder {
 public:
  static constexpr int kMinProtocolVersion = 1;
  static constexpr int kMaxProtocolVersion = 4;

  // protocol_version: the proto_version negotiated in START_REPLICATION. Throws Error(kUsage) outside 1..4.
  // parallel_streaming: START_REPLICATION asked for streaming = parallel (protocol 4 only): then, and only then,
  // Stream Abort also carries the abort LSN and time (proto.c logicalrep_write_stream_abort); they cannot be
  // recognised from the bytes alone, so the decoder must be told. Throws Error(kUsage) with a protocol below 4.
  explicit Decoder(int protocol_version, bool parallel_streaming = false);

  // Decodes one complete message. Throws Error(kProtocol), with context naming the message type and field, on:
  // empty or truncated input, trailing bytes, an unknown message type, an unknown tuple column kind or
  // old-tuple marker, flags the protocol does not define, a negative length, a tuple whose column count differs
  // from the cached Relation, a change for a relation id no 'R' described, a streaming message under protocol 1,
  // or a Stream Start/Stop/Commit/Abort out of order. Nothing is skipped and nothing defaults.
  Message Decode(std::string_view bytes);

  // The latest Relation decoded for id, or nullptr. The pointer is valid until the next Decode call.
  const Relation* FindRelation(RelationId id) const;

  int protocol_version() const { return protocol_version_; }
  // A copy of every cached Relation, for a second decoder that replays spilled stream messages (cdc/stream_spill.h).
  void CopyRelationsFrom(const Decoder& other) { relations_ = other.relations_; }
  bool streaming_active() const { return streaming_active_; }

 private:
  class Reader;  // per-message decoding, in pgoutput_decoder.cc

  // Rejects a known message type the negotiated version or the current streaming state does not allow.
  void CheckOrder(char type) const;
  // Applies the state change a fully decoded message implies (relation cache, streaming flag).
  void ApplyStateChange(const Message& message);

  int protocol_version_;
  bool parallel_streaming_;
  bool streaming_active_ = false;
  std::unordered_map<RelationId, Relation> relations_;
};

}  // namespace walferry::cdc
