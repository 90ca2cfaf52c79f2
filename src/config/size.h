// config/size.h
//
// Sizes as walferry.yaml and the flags spell them: bytes ("1073741824") or a number with a 1024-based unit
// (B, kB, MB, GB, TB; case-insensitive; a space before the unit allowed): "512MB", "10GB". Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace walferry::config {

// The size in bytes; nullopt when `text` is not a size or does not fit in int64, and then *why (if given) says
// which: "'TEXT' is not a size; use bytes ..." or "'TEXT' is too large".
std::optional<int64_t> ParseSize(std::string_view text, std::string* why = nullptr);
// For people: "812 B", "3.4 MB", "12.0 GB" (1024-based, one decimal above bytes).
std::string HumanSize(int64_t bytes);

}  // namespace walferry::config
