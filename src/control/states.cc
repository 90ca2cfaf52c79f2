#include "control/states.h"

#include <array>
#include <utility>

#include "common/error.h"

namespace walferry::control {
namespace {

// The database spelling of each state; the one place it is written.
constexpr std::array<std::pair<LoadState, const char*>, 5> kLoadStates = {{
    {LoadState::kPending, "pending"},
    {LoadState::kLoading, "loading"},
    {LoadState::kIndexing, "indexing"},
    {LoadState::kLoaded, "loaded"},
    {LoadState::kFailed, "failed"},
}};

constexpr std::array<std::pair<TaskState, const char*>, 6> kTaskStates = {{
    {TaskState::kFullLoad, "FULL LOAD"},
    {TaskState::kChangeProcessing, "CHANGE PROCESSING"},
    {TaskState::kCaughtUp, "CAUGHT UP"},
    {TaskState::kPaused, "PAUSED"},
    {TaskState::kFailed, "FAILED"},
    {TaskState::kStopped, "STOPPED"},
}};

template <typename State, size_t N>
const char* Spelling(const std::array<std::pair<State, const char*>, N>& table, State state) {
  for (const auto& [s, text] : table) {
    if (s == state) return text;
  }
  throw Error(ErrorKind::kInternal, "a state without a spelling: " + std::to_string(static_cast<int>(state)));
}

template <typename State, size_t N>
State Parse(const std::array<std::pair<State, const char*>, N>& table, std::string_view text, const char* column) {
  for (const auto& [s, spelling] : table) {
    if (text == spelling) return s;
  }
  std::string known;
  for (const auto& [s, spelling] : table) known += (known.empty() ? "" : ", ") + std::string(spelling);
  throw Error(ErrorKind::kData, "unknown " + std::string(column) + " '" + std::string(text) + "' in the control schema")
      .WithDetail("known values: " + known)
      .WithHint("the control schema was written by a different walferry version, or edited by hand; set the column "
                "to one of the known values");
}

}  // namespace

const char* ToString(LoadState state) { return Spelling(kLoadStates, state); }
const char* ToString(TaskState state) { return Spelling(kTaskStates, state); }

LoadState ParseLoadState(std::string_view text) { return Parse(kLoadStates, text, "sets.load_state"); }
TaskState ParseTaskState(std::string_view text) { return Parse(kTaskStates, text, "status.task_status"); }

bool IsFinal(TaskState state) { return state == TaskState::kFailed || state == TaskState::kStopped; }

bool IsRunning(TaskState state, bool fresh, bool slot_active) { return fresh && !IsFinal(state) && slot_active; }

}  // namespace walferry::control
