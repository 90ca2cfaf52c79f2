// cdc/worker_parts.h
//
// What the files of cdc::Worker share (worker.cc: sessions, failures, feedback; worker_stream.cc: streamed
// transactions): its two loggers and the feedback interval. Private to those files.
#pragma once

#include <chrono>
#include <memory>

#include "common/log.h"

namespace walferry::cdc::worker_parts {

// Reading the source (the slot, heartbeats, slot checks).
inline std::shared_ptr<spdlog::logger> Capture() { return log::For("source_capture"); }
// Applying to the target.
inline std::shared_ptr<spdlog::logger> Apply() { return log::For("target_apply"); }

// How often the walsender is sent a standby status update, also while the target works on a long statement.
constexpr std::chrono::seconds kFeedbackInterval{1};

}  // namespace walferry::cdc::worker_parts
