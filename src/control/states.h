// control/states.h
//
// The states walferry keeps in its control schema, as enums: a set's load state (column sets.load_state) and a
// set's CDC task state (column status.task_status). ToString gives the exact text stored in the database (kept as
// it always was: existing control schemas and the DMS-compatible views read it); Parse* accepts only that text and
// throws Error(kData) naming anything else, never mapping an unknown state to a default.
// Also the one rule for "is this set's CDC running" (IsRunning), so that `walferry status` and `walferry migrate`
// cannot disagree. Pure: no I/O, no globals; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace walferry::control {

// sets.load_state. pending -> loading (copying) -> indexing (data complete, post-data under way) -> loaded;
// failed is in the schema's vocabulary but not written by this version.
enum class LoadState { kPending, kLoading, kIndexing, kLoaded, kFailed };

// status.task_status, named as in the DMS playbook. kFailed and kStopped are final: the worker has ended.
enum class TaskState { kFullLoad, kChangeProcessing, kCaughtUp, kPaused, kFailed, kStopped };

// "pending", "loading", "indexing", "loaded", "failed".
const char* ToString(LoadState state);
// "FULL LOAD", "CHANGE PROCESSING", "CAUGHT UP", "PAUSED", "FAILED", "STOPPED".
const char* ToString(TaskState state);

// Throw Error(kData) for any other text (case matters: the database holds exactly the ToString spelling).
LoadState ParseLoadState(std::string_view text);
TaskState ParseTaskState(std::string_view text);

// FAILED or STOPPED: the worker that wrote the state has ended, whatever the row's age.
bool IsFinal(TaskState state);

// Whether a set's CDC is running: its status row is fresh (updated within kStaleStatusSeconds), its state is not
// final, and a walsender is reading its slot. A killed walferry leaves a live-looking state behind (the row ages);
// a --until-* run ends with CAUGHT UP and leaves the slot unread; both read as not running.
bool IsRunning(TaskState state, bool fresh, bool slot_active);

// A status row older than this (seconds) is not being kept current by a running worker (which writes it every
// few seconds).
inline constexpr int kStaleStatusSeconds = 30;

}  // namespace walferry::control
