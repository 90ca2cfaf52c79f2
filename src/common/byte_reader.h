// common/byte_reader.h
//
// The one bounds-checked reader for wire data (replication protocol, pgoutput, binary COPY). Every read checks
// that enough bytes remain and throws Error(kProtocol) naming the field and offset when they do not; nothing
// returns a default on overrun. Big-endian (network order) integers, as PostgreSQL sends them.
// Does not own the bytes: the span must outlive the reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace walferry {

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::byte> bytes) : bytes_(bytes) {}
  ByteReader(const char* data, size_t size)
      : bytes_(reinterpret_cast<const std::byte*>(data), size) {}

  uint8_t U8(std::string_view field);
  uint16_t U16(std::string_view field);
  uint32_t U32(std::string_view field);
  uint64_t U64(std::string_view field);
  int16_t I16(std::string_view field) { return static_cast<int16_t>(U16(field)); }
  int32_t I32(std::string_view field) { return static_cast<int32_t>(U32(field)); }
  int64_t I64(std::string_view field) { return static_cast<int64_t>(U64(field)); }
  char Char(std::string_view field) { return static_cast<char>(U8(field)); }
  // A NUL-terminated string; the view excludes the terminator and points into the buffer.
  std::string_view CString(std::string_view field);
  // Exactly n bytes, viewed in place.
  std::string_view Bytes(size_t n, std::string_view field);
  // Everything that is left.
  std::string_view Rest();

  size_t offset() const { return offset_; }
  size_t remaining() const { return bytes_.size() - offset_; }
  bool AtEnd() const { return offset_ == bytes_.size(); }
  // Throws kProtocol if bytes remain: a message longer than its fields is malformed too.
  void ExpectEnd(std::string_view what) const;

 private:
  void Need(size_t n, std::string_view field) const;

  std::span<const std::byte> bytes_;
  size_t offset_ = 0;
};

}  // namespace walferry
