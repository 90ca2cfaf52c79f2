// localcluster/local_cluster.h
//
// A real, throw-away PostgreSQL cluster on this machine: initdb into a fresh temporary directory, a free port on
// 127.0.0.1, started with pg_ctl. Production code: `walferry demo` (src/demo/) runs its migration between two of
// these; the test harness (tests/support/clusters.h) and the fuzz corpus capture build on it too. A module of its
// own, above common/ only and used only by demo/ (the build checks it: docs/architecture.md), so that the
// migration modules (load, cdc, validate, ...) never start servers. When walferry runs as root (CI does), the
// server runs as the `postgres` OS user, since initdb refuses root.
//
// Authentication: the bootstrap superuser `postgres` is trusted from 127.0.0.1 (tests and demo connect without a
// password); every other role must use a SCRAM password, so tests can prove what a wrong password does.
// Ownership: the destructor stops the server (immediate mode) and deletes the directory, also when a test fails.
// Not thread-safe; one owner.
//
// Other major versions: `bin_dir` names the server binaries (initdb, pg_ctl, postgres) of the version to run, e.g.
// BinDirFor(12). Client tools (psql, createdb, pg_basebackup) always come from the system's BinDir(): the
// embedded server packages tests use for other versions (scripts/deps.sh, docs/testing.md) ship no clients, and
// PostgreSQL's clients serve older and newer servers alike.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace walferry::localcluster {

struct LocalClusterOptions {
  std::string name = "pg";              // used in the directory name and log lines
  bool logical = true;                  // wal_level=logical (else replica)
  std::vector<std::string> settings;    // extra postgresql.conf lines, e.g. "max_wal_senders = 20"
  bool durable = false;                 // fsync on; off by default: faster, and tests never crash the OS
  std::string bin_dir;                  // the server binaries; empty: BinDir()
};

class LocalCluster {
 public:
  // Throws Error(kIo) with initdb's / the server log's tail when the cluster cannot be created or started.
  static LocalCluster Create(const LocalClusterOptions& options);
  // Wraps an existing data directory (e.g. made by pg_basebackup); starts it on a free port.
  // A hot standby of `primary` (pg_basebackup -R -X stream from its bootstrap superuser): a new directory,
  // started on a free port, streaming from primary; removed like a created cluster.
  static LocalCluster CreateStandby(const LocalCluster& primary, const std::string& name);
  static LocalCluster Adopt(const std::filesystem::path& base_dir, const std::filesystem::path& data_dir,
                            const std::string& name, const std::vector<std::string>& extra_settings);

  LocalCluster(LocalCluster&& other) noexcept;
  LocalCluster& operator=(LocalCluster&&) = delete;
  LocalCluster(const LocalCluster&) = delete;
  ~LocalCluster();

  int port() const { return port_; }
  // postgresql://postgres@127.0.0.1:PORT/DB
  std::string Uri(const std::string& db = "postgres") const;
  std::string UriAs(const std::string& user, const std::string& password, const std::string& db) const;
  const std::filesystem::path& data_dir() const { return data_dir_; }
  const std::filesystem::path& base_dir() const { return base_dir_; }

  void CreateDatabase(const std::string& db) const;
  // Runs SQL as the superuser through psql (for fixtures). Throws with psql's output on error.
  std::string Psql(const std::string& db, const std::string& sql) const;

  void Start();
  void Stop(bool immediate = true);
  void Restart();
  // Starts a stopped cluster again on the port it had (clients and proxies reconnect to the same address).
  // Throws Error(kIo) with the server log's tail when it does not start.
  void StartOnSamePort();
  bool running() const { return running_; }

  // The server's major version (its data directory's PG_VERSION), e.g. 12.
  int major() const;
  // The directory of the server binaries this cluster runs.
  const std::string& bin_dir() const { return bin_dir_; }

  static std::string BinDir();  // the system's PostgreSQL binaries (15), clients included
  // The server binaries of major version `major`: the system's (/usr/lib/postgresql/MAJOR/bin) when installed,
  // else those scripts/deps.sh installed into the embedded-server cache (EmbeddedCacheDir()/MAJOR/...). Throws
  // Error(kIo) saying how to install them when neither has an initdb.
  static std::string BinDirFor(int major);
  // WALFERRY_PG_CACHE, else /var/cache/walferry/postgres as root, else $XDG_CACHE_HOME (or ~/.cache)
  // /walferry/postgres: where scripts/deps.sh installs the servers of other major versions.
  static std::string EmbeddedCacheDir();

 private:
  LocalCluster() = default;
  void WriteConfig(const std::vector<std::string>& settings, bool logical, bool durable);
  std::string LogTail() const;

  std::string name_;
  std::string bin_dir_;  // server binaries (initdb, pg_ctl)
  std::filesystem::path base_dir_;
  std::filesystem::path data_dir_;
  int port_ = 0;
  bool running_ = false;
  bool owns_dir_ = true;
};

// A free TCP port on 127.0.0.1 at the moment of the call.
int FreePort();

}  // namespace walferry::localcluster
