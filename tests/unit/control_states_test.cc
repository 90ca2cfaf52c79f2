#include "control/states.h"

#include <gtest/gtest.h>

#include <string>

#include "common/error.h"

namespace walferry::control {
namespace {

constexpr LoadState kAllLoadStates[] = {LoadState::kPending, LoadState::kLoading, LoadState::kIndexing,
                                        LoadState::kLoaded, LoadState::kFailed};
constexpr TaskState kAllTaskStates[] = {TaskState::kFullLoad, TaskState::kChangeProcessing, TaskState::kCaughtUp,
                                        TaskState::kPaused,   TaskState::kFailed,           TaskState::kStopped};

TEST(ControlStates, LoadStatesKeepTheirDatabaseSpelling) {
  EXPECT_STREQ(ToString(LoadState::kPending), "pending");
  EXPECT_STREQ(ToString(LoadState::kLoading), "loading");
  EXPECT_STREQ(ToString(LoadState::kIndexing), "indexing");
  EXPECT_STREQ(ToString(LoadState::kLoaded), "loaded");
  EXPECT_STREQ(ToString(LoadState::kFailed), "failed");
}

TEST(ControlStates, TaskStatesKeepTheirDmsSpelling) {
  EXPECT_STREQ(ToString(TaskState::kFullLoad), "FULL LOAD");
  EXPECT_STREQ(ToString(TaskState::kChangeProcessing), "CHANGE PROCESSING");
  EXPECT_STREQ(ToString(TaskState::kCaughtUp), "CAUGHT UP");
  EXPECT_STREQ(ToString(TaskState::kPaused), "PAUSED");
  EXPECT_STREQ(ToString(TaskState::kFailed), "FAILED");
  EXPECT_STREQ(ToString(TaskState::kStopped), "STOPPED");
}

TEST(ControlStates, ParseRoundTripsEveryState) {
  for (LoadState s : kAllLoadStates) EXPECT_EQ(ParseLoadState(ToString(s)), s) << ToString(s);
  for (TaskState s : kAllTaskStates) EXPECT_EQ(ParseTaskState(ToString(s)), s) << ToString(s);
}

// An unknown state is a loud kData error naming the text, never a default state.
TEST(ControlStates, ParseRejectsUnknownTextNamingIt) {
  for (const char* bad : {"", "Loaded", "LOADED", "loaded ", "copying", "done"}) {
    try {
      ParseLoadState(bad);
      ADD_FAILURE() << "accepted load state '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kData);
      EXPECT_NE(e.message().find("'" + std::string(bad) + "'"), std::string::npos) << e.what();
      EXPECT_NE(e.message().find("sets.load_state"), std::string::npos) << e.what();
    }
  }
  for (const char* bad : {"", "caught up", "CAUGHT_UP", "RUNNING", "not running (last: CAUGHT UP)"}) {
    try {
      ParseTaskState(bad);
      ADD_FAILURE() << "accepted task state '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kData);
      EXPECT_NE(e.message().find("'" + std::string(bad) + "'"), std::string::npos) << e.what();
      EXPECT_NE(e.message().find("status.task_status"), std::string::npos) << e.what();
    }
  }
}

TEST(ControlStates, OnlyFailedAndStoppedAreFinal) {
  for (TaskState s : kAllTaskStates) {
    EXPECT_EQ(IsFinal(s), s == TaskState::kFailed || s == TaskState::kStopped) << ToString(s);
  }
}

// Running needs all three: a fresh row, a state that is not final, and a walsender on the slot.
TEST(ControlStates, RunningNeedsAFreshRowALiveStateAndAnActiveSlot) {
  for (TaskState s : kAllTaskStates) {
    for (bool fresh : {false, true}) {
      for (bool slot_active : {false, true}) {
        bool expected = fresh && slot_active && s != TaskState::kFailed && s != TaskState::kStopped;
        EXPECT_EQ(IsRunning(s, fresh, slot_active), expected)
            << ToString(s) << " fresh=" << fresh << " slot_active=" << slot_active;
      }
    }
  }
}

// What `walferry status` saw after kill -9 (row aged, slot released) and after a --until-caught-up run (row fresh,
// slot released): not running, although the state still reads as live. `walferry migrate` read the second as
// running before both used this rule.
TEST(ControlStates, ALiveLookingStateWithoutAReaderIsNotRunning) {
  EXPECT_FALSE(IsRunning(TaskState::kChangeProcessing, /*fresh=*/false, /*slot_active=*/false));
  EXPECT_FALSE(IsRunning(TaskState::kCaughtUp, /*fresh=*/true, /*slot_active=*/false));
  EXPECT_FALSE(IsRunning(TaskState::kCaughtUp, /*fresh=*/false, /*slot_active=*/true));
  EXPECT_TRUE(IsRunning(TaskState::kCaughtUp, /*fresh=*/true, /*slot_active=*/true));
}

}  // namespace
}  // namespace walferry::control
