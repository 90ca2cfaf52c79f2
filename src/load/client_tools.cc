#include "load/client_tools.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>
#include <vector>

#include "common/error.h"
#include "common/process.h"

namespace walferry::load {
namespace fs = std::filesystem;

ToolSearch ToolSearch::FromEnvironment() {
  ToolSearch s;
  if (const char* v = std::getenv("WALFERRY_PG_BINDIR")) s.bindir = v;
  if (const char* v = std::getenv("PATH")) s.path = v;
  return s;
}

std::optional<int> ProgramMajor(const std::string& program) {
  if (::access(program.c_str(), X_OK) != 0) return std::nullopt;
  ProcessResult r;
  try {
    r = RunProcess({program, "--version"});
  } catch (const Error&) {
    return std::nullopt;
  }
  std::smatch m;
  static const std::regex kVersion(R"(\(PostgreSQL\) (\d+))");
  if (r.exit_code != 0 || !std::regex_search(r.output, m, kVersion)) return std::nullopt;
  return std::stoi(m[1].str());
}

namespace {

// One place looked at, for the error when nothing fits.
struct Tried {
  std::string where;
  std::string found;  // "15", "not there", "too old (13)"
};

std::optional<std::string> Fits(const fs::path& program, int server_major, const std::string& where,
                                std::vector<Tried>& tried, std::vector<fs::path>& seen) {
  if (!fs::exists(program)) {
    tried.push_back({where + " (" + program.string() + ")", "not there"});
    return std::nullopt;
  }
  // One program reached through several places (Debian's /bin is a link to /usr/bin) is asked and listed once.
  std::error_code ec;
  fs::path real = fs::canonical(program, ec);
  if (ec) real = program;
  if (std::find(seen.begin(), seen.end(), real) != seen.end()) return std::nullopt;
  seen.push_back(real);
  std::optional<int> major = ProgramMajor(program.string());
  if (!major) {
    tried.push_back({where + " (" + program.string() + ")", "does not run or say its version"});
    return std::nullopt;
  }
  if (*major < server_major) {
    tried.push_back({where + " (" + program.string() + ")", "version " + std::to_string(*major) + ", too old"});
    return std::nullopt;
  }
  return program.string();
}

std::string Find(const std::string& name, int server_major, const ToolSearch& where) {
  std::vector<Tried> tried;
  std::vector<fs::path> seen;
  const std::string need = " for a PostgreSQL " + std::to_string(server_major) + " source";
  if (!where.bindir.empty()) {
    if (auto p = Fits(fs::path(where.bindir) / name, server_major, "WALFERRY_PG_BINDIR", tried, seen)) return *p;
    throw Error(ErrorKind::kPrecondition, "WALFERRY_PG_BINDIR has no usable " + name + need + ": " +
                                              tried.back().found)
        .WithHint("point WALFERRY_PG_BINDIR at the bin directory of PostgreSQL " + std::to_string(server_major) +
                  " or newer client programs, or unset it");
  }
  if (!where.pg_config.empty()) {
    try {
      ProcessResult r = RunProcess({where.pg_config, "--bindir"});
      std::string dir = r.output.substr(0, r.output.find('\n'));
      if (r.exit_code == 0 && !dir.empty()) {
        if (auto p = Fits(fs::path(dir) / name, server_major, "pg_config --bindir", tried, seen)) return *p;
      }
    } catch (const Error&) {
      // no pg_config on PATH
    }
  }
  std::error_code ec;
  std::vector<int> majors;
  for (const auto& e : fs::directory_iterator(where.versioned_root, ec)) {
    const std::string n = e.path().filename().string();
    if (!n.empty() && std::all_of(n.begin(), n.end(), ::isdigit) && n.size() < 4) majors.push_back(std::stoi(n));
  }
  std::sort(majors.begin(), majors.end());
  for (int m : majors) {
    if (m < server_major) continue;
    fs::path program = fs::path(where.versioned_root) / std::to_string(m) / "bin" / name;
    if (auto p = Fits(program, server_major, where.versioned_root, tried, seen)) return *p;
  }
  std::istringstream dirs(where.path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty() || !fs::exists(fs::path(dir) / name)) continue;
    if (auto p = Fits(fs::path(dir) / name, server_major, "PATH", tried, seen)) return *p;
  }
  std::string list;
  for (const Tried& t : tried) list += (list.empty() ? "" : "; ") + t.where + ": " + t.found;
  const std::string major = std::to_string(server_major);
  throw Error(ErrorKind::kPrecondition, "no " + name + need + " on this machine" +
                                            (list.empty() ? std::string(" (none found)") : ": " + list))
      .WithDetail("pg_dump refuses to dump a server of a newer major version than its own, and walferry takes the "
                  "client programs of one version together (docs/versions.md)")
      .WithHint("install the PostgreSQL " + major + " (or newer) client programs (Debian, Ubuntu: apt-get install "
                "postgresql-client-" + major + ", from the PostgreSQL apt repository apt.postgresql.org when the "
                "release has no such package: Debian 12 has only 15), or set WALFERRY_PG_BINDIR to their bin "
                "directory");
}

}  // namespace

std::string FindClientProgram(const std::string& name, int server_major, const ToolSearch& where) {
  static std::mutex mu;
  static std::map<std::string, std::string> cache;
  const std::string key = name + "\n" + std::to_string(server_major) + "\n" + where.bindir + "\n" + where.pg_config +
                          "\n" + where.versioned_root + "\n" + where.path;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  std::string found = Find(name, server_major, where);
  std::lock_guard<std::mutex> lock(mu);
  cache[key] = found;
  return found;
}

}  // namespace walferry::load
