// common/process.h
//
// Running external programs (initdb, pg_ctl, pg_dump, ...) without a shell: argv is passed as is, so no value is
// ever interpreted by a shell. Output (stdout and stderr together) is captured.
// No program outlives walferry: each runs under a small supervisor process that leads a process group of its own
// (so a terminal's Ctrl-C reaches walferry only, which decides how to stop children) and that kills the whole
// group, the program and whatever it started (pg_restore -j's workers), when walferry ends, even by SIGKILL
// (prctl PR_SET_PDEATHSIG). The supervisor passes the program's exit status on.
#pragma once

#include <atomic>
#include <string>
#include <vector>

namespace walferry {

struct ProcessResult {
  int exit_code = -1;  // 128+signal when killed by a signal
  std::string output;
};

struct ProcessOptions {
  // Run as this OS user (through runuser) when walferry itself runs as root; ignored otherwise.
  std::string as_user;
  // Extra environment entries NAME=VALUE (override inherited ones; never put on the command line).
  std::vector<std::string> env;
  // Write this to the child's stdin (then close it).
  std::string input;
  // When set and it reads true while the program runs (Ctrl-C: CancelFlag()): the program's process group gets
  // SIGINT (pg_dump, pg_restore and psql cancel their running queries on it), then SIGKILL if it is still there
  // after kStopGrace; RunProcess waits for it to end and throws Error(kCancelled).
  const std::atomic<bool>* stop = nullptr;
};

inline constexpr int kStopGraceSeconds = 5;

// Runs argv[0] (searched in PATH) to completion. Throws Error(kIo) only when the program cannot be started, and
// Error(kCancelled) when options.stop ended it.
ProcessResult RunProcess(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// Same, but throws Error(kIo) with the program's output when it exits non-zero.
std::string RunProcessOrThrow(const std::vector<std::string>& argv, const ProcessOptions& options = {});

bool RunningAsRoot();

}  // namespace walferry
