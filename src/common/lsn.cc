#include "common/lsn.h"

#include <cstdio>

#include "common/error.h"

namespace walferry {

namespace {
std::optional<uint32_t> ParseHexHalf(std::string_view s) {
  if (s.empty() || s.size() > 8) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    uint32_t d;
    if (c >= '0' && c <= '9') d = static_cast<uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f') d = static_cast<uint32_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') d = static_cast<uint32_t>(c - 'A' + 10);
    else return std::nullopt;
    v = (v << 4) | d;
  }
  return v;
}
}  // namespace

std::optional<Lsn> Lsn::TryParse(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto hi = ParseHexHalf(text.substr(0, slash));
  auto lo = ParseHexHalf(text.substr(slash + 1));
  if (!hi || !lo) return std::nullopt;
  return Lsn((static_cast<uint64_t>(*hi) << 32) | *lo);
}

Lsn Lsn::Parse(std::string_view text) {
  auto lsn = TryParse(text);
  if (!lsn) {
    throw Error(ErrorKind::kData, "invalid LSN '" + std::string(text) + "'")
        .WithHint("an LSN looks like 16/B374D848 (two hexadecimal numbers separated by '/')");
  }
  return *lsn;
}

std::string Lsn::ToString() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(value_ >> 32),
                static_cast<unsigned>(value_ & 0xffffffffu));
  return buf;
}

}  // namespace walferry
