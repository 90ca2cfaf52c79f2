#include "config/size.h"

#include <cctype>
#include <charconv>
#include <limits>

#include <fmt/format.h>

namespace walferry::config {

std::optional<int64_t> ParseSize(std::string_view text, std::string* why) {
  auto fail = [&](const char* what) -> std::optional<int64_t> {
    if (why) *why = "'" + std::string(text) + "' " + what;
    return std::nullopt;
  };
  constexpr const char* kNotASize =
      "is not a size; use bytes (e.g. 1073741824) or a size like \"512MB\" or \"10GB\" (units B, kB, MB, GB, TB; "
      "1024-based)";
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) return fail(kNotASize);
  std::string unit(text.substr(digits));
  unit.erase(0, unit.find_first_not_of(' '));
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  int shift = unit.empty() || unit == "B" ? 0
              : unit == "KB"               ? 10
              : unit == "MB"               ? 20
              : unit == "GB"               ? 30
              : unit == "TB"               ? 40
                                           : -1;
  if (shift < 0) return fail(kNotASize);
  int64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, number);
  if (ec == std::errc::result_out_of_range) return fail("is too large");
  if (ec != std::errc() || end != text.data() + digits) return fail(kNotASize);
  if (number > (std::numeric_limits<int64_t>::max() >> shift)) return fail("is too large");
  return number << shift;
}

std::string HumanSize(int64_t bytes) {
  static const std::pair<const char*, int> kUnits[] = {{"TB", 40}, {"GB", 30}, {"MB", 20}, {"kB", 10}};
  for (const auto& [unit, shift] : kUnits) {
    if (bytes >= (int64_t{1} << shift)) return fmt::format("{:.1f} {}", static_cast<double>(bytes) / (int64_t{1} << shift), unit);
  }
  return fmt::format("{} B", bytes);
}

}  // namespace walferry::config
