// common/lsn.h
//
// Lsn: a PostgreSQL write-ahead-log position (XLogRecPtr), a 64-bit byte offset printed as two hex halves
// "16/B374D848". A value type: parse, format, compare, subtract. Lsn{} (0/0) means "invalid / not set",
// as in PostgreSQL. See docs/design/lsn.md.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace walferry {

class Lsn {
 public:
  constexpr Lsn() = default;
  constexpr explicit Lsn(uint64_t value) : value_(value) {}

  // Parses "X/Y" (1-8 hex digits each side). Throws Error(kData) naming the bad text.
  static Lsn Parse(std::string_view text);
  static std::optional<Lsn> TryParse(std::string_view text);

  constexpr uint64_t value() const { return value_; }
  constexpr bool valid() const { return value_ != 0; }
  std::string ToString() const;

  // Bytes from `older` to this; 0 when older is ahead (never wraps).
  constexpr uint64_t BytesSince(Lsn older) const { return value_ > older.value_ ? value_ - older.value_ : 0; }

  constexpr auto operator<=>(const Lsn&) const = default;

 private:
  uint64_t value_ = 0;
};

}  // namespace walferry
