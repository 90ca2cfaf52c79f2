#include "support/clusters.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <thread>

#include "common/error.h"
#include "common/process.h"

namespace walferry::test {

namespace {
std::unique_ptr<localcluster::LocalCluster> g_source;
std::unique_ptr<localcluster::LocalCluster> g_target;

int g_default_source_major = 0;
int g_default_target_major = 0;

// The major version a cluster runs: the environment's, else the binary's default, else 0 (the system's).
int MajorFor(const char* env_name, int fallback) {
  const char* env = std::getenv(env_name);
  if (env == nullptr || *env == '\0') return fallback;
  try {
    return std::stoi(env);
  } catch (const std::exception&) {
    throw Error(ErrorKind::kUsage, std::string(env_name) + "='" + env + "' is not a major version such as 12");
  }
}

localcluster::LocalClusterOptions ClusterOptions(const std::string& name, int major) {
  localcluster::LocalClusterOptions o{.name = name};
  if (major != 0) o.bin_dir = localcluster::LocalCluster::BinDirFor(major);
  return o;
}

std::string Sanitize(std::string s) {
  for (char& c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : '_';
  }
  return s.substr(0, 60);
}
}  // namespace

class ClusterEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const int source_major = MajorFor("WALFERRY_TEST_SOURCE_VERSION", g_default_source_major);
    const int target_major = MajorFor("WALFERRY_TEST_TARGET_VERSION", g_default_target_major);
    g_source = std::make_unique<localcluster::LocalCluster>(
        localcluster::LocalCluster::Create(ClusterOptions("source", source_major)));
    g_target = std::make_unique<localcluster::LocalCluster>(
        localcluster::LocalCluster::Create(ClusterOptions("target", target_major)));
  }
  void TearDown() override {
    g_source.reset();
    g_target.reset();
  }
};

::testing::Environment* MakeClusterEnvironment() { return new ClusterEnvironment(); }

bool SetDefaultClusterVersions(int source_major, int target_major) {
  g_default_source_major = source_major;
  g_default_target_major = target_major;
  return true;
}

localcluster::LocalCluster& Source() { return *g_source; }
localcluster::LocalCluster& Target() { return *g_target; }

std::string FreshDatabase(const std::string& suffix) {
  static int counter = 0;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = Sanitize(std::string(info ? info->name() : "db") + suffix) + "_" + std::to_string(++counter);
  Source().CreateDatabase(name);
  Target().CreateDatabase(name);
  return name;
}

std::string WriteConfig(const std::string& db, const std::string& yaml) {
  std::string path = (std::filesystem::temp_directory_path() / ("walferry-" + db + ".yaml")).string();
  std::ofstream(path) << "version: 1\nsource: \"" << Source().Uri(db) << "\"\ntarget: \"" << Target().Uri(db) << "\"\n"
                      << yaml;
  return path;
}

// Named as an application's sessions: walferry cutover never waits for nor ends sessions named walferry...
pg::Connection ConnectSource(const std::string& db) {
  return pg::Connection::Open(Source().Uri(db), {.role = "source", .application_name = "test session"});
}
pg::Connection ConnectTarget(const std::string& db) {
  return pg::Connection::Open(Target().Uri(db), {.role = "target", .application_name = "test session"});
}

CliResult RunWalferry(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  std::vector<std::string> argv = {WALFERRY_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions o;
  o.env = env;
  ProcessResult r = RunProcess(argv, o);
  return {r.exit_code, r.output};
}

pid_t SpawnWalferry(const std::vector<std::string>& args, bool own_group) {
  return SpawnWalferry(args, own_group, "/dev/null");
}

pid_t SpawnWalferry(const std::vector<std::string>& args, bool own_group, const std::string& log_path) {
  return SpawnWalferryBinary(WALFERRY_BINARY, args, own_group, log_path);
}

pid_t SpawnWalferryBinary(const std::string& binary, const std::vector<std::string>& args, bool own_group,
                          const std::string& log_path) {
  // Everything the child needs is built before fork: only async-signal-safe calls may follow it.
  std::string bin = binary;
  std::vector<std::string> copy = args;
  std::vector<char*> argv = {bin.data()};
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    if (own_group) setpgid(0, 0);
    int out = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(out, 1);
    dup2(out, 2);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  if (own_group && pid > 0) setpgid(pid, pid);
  return pid;
}

std::optional<int> SignalAndWait(pid_t pid, int sig, std::chrono::seconds limit) {
  kill(pid, sig);
  int status = 0;
  if (PollUntil([&] { return waitpid(pid, &status, WNOHANG) == pid; }, limit)) return status;
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return std::nullopt;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool PollUntil(const std::function<bool()>& done, std::chrono::seconds limit, std::chrono::milliseconds interval) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(interval);
  }
  return done();
}

int64_t Count(pg::Connection& c, const std::string& sql) { return c.Exec(sql).GetInt(0, 0); }
std::string Text(pg::Connection& c, const std::string& sql) { return std::string(c.Exec(sql).Get(0, 0)); }
std::string Text(pg::Connection&& c, const std::string& sql) { return Text(c, sql); }

std::string DiffTable(pg::Connection& source, pg::Connection& target, const std::string& quoted_table) {
  // Whole rows as text, sorted: a multiset comparison that needs no key and sees every column.
  std::string sql = "SELECT ROW(r.*)::text FROM " + quoted_table + " r ORDER BY 1";
  pg::Result a = source.Exec(sql);
  pg::Result b = target.Exec(sql);
  int n = std::max(a.rows(), b.rows());
  for (int i = 0; i < n; ++i) {
    if (i >= a.rows()) return "target has extra row " + std::string(b.Get(i, 0));
    if (i >= b.rows()) return "target lacks row " + std::string(a.Get(i, 0));
    if (a.Get(i, 0) != b.Get(i, 0)) {
      return "row " + std::to_string(i) + " differs: source " + std::string(a.Get(i, 0)).substr(0, 300) +
             " target " + std::string(b.Get(i, 0)).substr(0, 300);
    }
  }
  return "";
}

}  // namespace walferry::test
