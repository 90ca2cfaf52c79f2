// common/process.h
//
// Running external programs (initdb, pg_ctl, pg_dump, ...) without a shell: argv is passed as is, so no value is
// ever interpreted by a shell. Output (stdout and stderr together) is captured.
#pragma once

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
};

// Runs argv[0] (searched in PATH) to completion. Throws Error(kIo) only when the program cannot be started.
ProcessResult RunProcess(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// Same, but throws Error(kIo) with the program's output when it exits non-zero.
std::string RunProcessOrThrow(const std::vector<std::string>& argv, const ProcessOptions& options = {});

bool RunningAsRoot();

}  // namespace walferry
