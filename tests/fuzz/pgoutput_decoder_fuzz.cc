// fuzz/pgoutput_decoder_fuzz.cc
//
// libFuzzer target for cdc::Decoder (built by tests/fuzz/CMakeLists.txt with clang, ASan and UBSan; run by
// scripts/fuzz.sh). The input is one replication stream, so that the relation cache and the streaming state
// carry from message to message:
//   byte 0          protocol version: 1 + (byte % 4), i.e. 1..4; with 4, bit 2 (byte & 4) asks for streaming =
//                   parallel (Stream Abort then carries the abort LSN and time)
//   then repeated   u16 big-endian length n, then n bytes: one pgoutput message (one XLogData payload)
// A short last length takes whatever bytes remain. Each message goes to Decode in its own heap buffer (so ASan
// sees a read past a message's end); every field of the result is read, including the views into the buffer and
// the cached Relation a change names. Error (the decoder's documented rejection) is expected and ignored; any
// other exception, crash or sanitizer report is a finding. The corpus (tests/fuzz/corpus/) holds real streams
// captured by tests/fuzz/capture_corpus.cc.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <type_traits>
#include <variant>

#include "cdc/pgoutput_decoder.h"
#include "common/error.h"

namespace {

using namespace walferry::cdc;

// Folds every byte a Message points at into a sum the optimizer cannot drop.
size_t Touch(std::string_view s) {
  size_t h = s.size();
  for (char c : s) h = h * 31 + static_cast<unsigned char>(c);
  return h;
}

size_t Touch(const TupleData& t) {
  size_t h = t.columns.size();
  for (const ColumnValue& v : t.columns) h += static_cast<size_t>(v.kind) + Touch(v.bytes);
  return h;
}

size_t Touch(const Decoder& decoder, RelationId id) {
  const Relation* r = decoder.FindRelation(id);
  if (r == nullptr) return 0;
  size_t h = Touch(r->namespace_name) + Touch(r->name);
  for (const RelationColumn& c : r->columns) h += Touch(c.name) + c.type_oid.value + c.flags;
  return h;
}

size_t Touch(const Decoder& decoder, const Message& m) {
  return std::visit(
      [&](const auto& x) -> size_t {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Insert>) {
          return Touch(decoder, x.relation_id) + Touch(x.new_tuple);
        } else if constexpr (std::is_same_v<T, Update>) {
          return Touch(decoder, x.relation_id) + Touch(x.new_tuple) + (x.old ? Touch(x.old->tuple) : 0);
        } else if constexpr (std::is_same_v<T, Delete>) {
          return Touch(decoder, x.relation_id) + Touch(x.old.tuple);
        } else if constexpr (std::is_same_v<T, Truncate>) {
          size_t h = 0;
          for (RelationId id : x.relation_ids) h += Touch(decoder, id);
          return h;
        } else if constexpr (std::is_same_v<T, Relation>) {
          return Touch(decoder, x.relation_id);
        } else if constexpr (std::is_same_v<T, LogicalMessage>) {
          return Touch(x.prefix) + Touch(x.content);
        } else if constexpr (std::is_same_v<T, Begin>) {
          return Touch(FormatPgTimestamp(x.commit_time));
        } else if constexpr (std::is_same_v<T, StreamAbort>) {
          return x.subxid.value + (x.abort_lsn ? Touch(x.abort_lsn->ToString()) : 0) + (x.abort_time ? 1 : 0);
        } else if constexpr (std::is_same_v<T, Commit>) {
          return Touch(FormatPgTimestamp(x.commit_time)) + Touch(x.end_lsn.ToString());
        } else {
          return 1;
        }
      },
      m);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int version = Decoder::kMinProtocolVersion + data[0] % 4;
  Decoder decoder(version, version == 4 && (data[0] & 4) != 0);
  size_t pos = 1;
  volatile size_t sink = 0;
  while (pos < size) {
    size_t n = data[pos] << 8;
    if (pos + 1 < size) n |= data[pos + 1];
    pos += 2;
    if (pos > size) pos = size;
    if (n > size - pos) n = size - pos;
    auto buffer = std::make_unique<char[]>(n == 0 ? 1 : n);
    for (size_t i = 0; i < n; ++i) buffer[i] = static_cast<char>(data[pos + i]);
    pos += n;
    try {
      Message m = decoder.Decode(std::string_view(buffer.get(), n));
      sink = sink + Touch(decoder, m);
    } catch (const walferry::Error&) {
      // A rejected message: the decoder's contract says its state is unchanged, so the stream goes on.
    }
  }
  return 0;
}
