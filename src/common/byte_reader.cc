#include "common/byte_reader.h"

#include <cstring>
#include <string>

#include "common/error.h"

namespace walferry {

void ByteReader::Need(size_t n, std::string_view field) const {
  if (remaining() < n) {
    throw Error(ErrorKind::kProtocol,
                "truncated data reading " + std::string(field) + ": need " + std::to_string(n) +
                    " byte(s) at offset " + std::to_string(offset_) + ", " + std::to_string(remaining()) +
                    " left");
  }
}

uint8_t ByteReader::U8(std::string_view field) {
  Need(1, field);
  return static_cast<uint8_t>(bytes_[offset_++]);
}

uint16_t ByteReader::U16(std::string_view field) {
  Need(2, field);
  uint16_t v = 0;
  for (int i = 0; i < 2; ++i) v = static_cast<uint16_t>((v << 8) | static_cast<uint8_t>(bytes_[offset_++]));
  return v;
}

uint32_t ByteReader::U32(std::string_view field) {
  Need(4, field);
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(bytes_[offset_++]);
  return v;
}

uint64_t ByteReader::U64(std::string_view field) {
  Need(8, field);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(bytes_[offset_++]);
  return v;
}

std::string_view ByteReader::CString(std::string_view field) {
  const auto* start = reinterpret_cast<const char*>(bytes_.data()) + offset_;
  const void* nul = std::memchr(start, 0, remaining());
  if (nul == nullptr) {
    throw Error(ErrorKind::kProtocol, "unterminated string reading " + std::string(field) + " at offset " +
                                          std::to_string(offset_));
  }
  size_t len = static_cast<size_t>(static_cast<const char*>(nul) - start);
  offset_ += len + 1;
  return {start, len};
}

std::string_view ByteReader::Bytes(size_t n, std::string_view field) {
  Need(n, field);
  const auto* start = reinterpret_cast<const char*>(bytes_.data()) + offset_;
  offset_ += n;
  return {start, n};
}

std::string_view ByteReader::Rest() { return Bytes(remaining(), "rest"); }

void ByteReader::ExpectEnd(std::string_view what) const {
  if (!AtEnd()) {
    throw Error(ErrorKind::kProtocol, std::to_string(remaining()) + " unexpected trailing byte(s) after " +
                                          std::string(what));
  }
}

}  // namespace walferry
