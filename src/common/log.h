// common/log.h
//
// Logging: one line per event, tagged with the component that speaks (source_capture, target_apply, load, ...).
// Readable text on a terminal, JSON lines with --log-format json. Logs go to stderr so stdout stays for
// command output (tables, --json). Built on spdlog; callers use the fmt-style helpers below.
// Never pass a conninfo string here unredacted: use pg::RedactConninfo.
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>
#include <vector>

namespace walferry::log {

enum class Format { kText, kJson };

// Call once at start-up. level: trace|debug|info|warn|error|off. Throws Error(kConfig) on an unknown level.
void Init(std::string_view level, Format format);

// The logger for one component, created on first use.
std::shared_ptr<spdlog::logger> For(const std::string& component);

// A block of live status lines kept at the bottom of the terminal (the load's progress display): shown on stderr
// without a trailing newline, replaced by the next call, removed by an empty one. Log lines written meanwhile
// appear above it (the block is erased before each log line and drawn again after). Only for a terminal: callers
// check isatty(2). Thread-safe.
void SetStatusBlock(std::vector<std::string> lines);

}  // namespace walferry::log
