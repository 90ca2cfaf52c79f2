// load/client_tools.h
//
// Finding PostgreSQL's client programs (pg_dump, pg_restore, psql) on the machine walferry runs on, which may have
// only the client packages (no server), or several major versions of them. pg_dump refuses a server newer than
// itself, so a program fits a source of major version M when its own major version is M or newer; among the
// installed versions the lowest that fits is taken (the closest to the source). Places, in this order:
//   1. WALFERRY_PG_BINDIR: the user's choice; it must fit, else an error (no silent fallback);
//   2. `pg_config --bindir` (pg_config on PATH);
//   3. /usr/lib/postgresql/<N>/bin (Debian, Ubuntu), the lowest N >= M that has the program;
//   4. PATH.
// Each candidate is asked `--version`. None fits: Error(kPrecondition) naming every place and what it had, with the
// package to install. Results are cached per (program, M). Thread-safe.
#pragma once

#include <optional>
#include <string>

namespace walferry::load {

struct ToolSearch {
  std::string bindir;                                  // WALFERRY_PG_BINDIR; empty: not set
  std::string pg_config = "pg_config";                 // asked for --bindir; empty: not asked
  std::string versioned_root = "/usr/lib/postgresql";  // <root>/<N>/bin
  std::string path;                                    // PATH
  static ToolSearch FromEnvironment();
};

// The major version a client program reports ("pg_dump (PostgreSQL) 15.18 (Debian 15.18-1)" -> 15); nullopt when
// it cannot be run or says something else.
std::optional<int> ProgramMajor(const std::string& program);

// The path of `name` that fits a source of major version `server_major` (see above).
std::string FindClientProgram(const std::string& name, int server_major,
                              const ToolSearch& where = ToolSearch::FromEnvironment());

}  // namespace walferry::load
