// pg/connection.h
//
// Connection: the one owner of a PGconn (PQfinish on destruction). Move-only. Not thread-safe: one thread uses
// a Connection at a time. Every failure throws Error with the server's SQLSTATE, message, detail and hint, plus
// what walferry was doing and which server ("source", "target") it was talking to. The conninfo given to Open()
// appears in messages only redacted.
//
// Values are always parameters (Param = optional string, nullopt = NULL, text format); SQL text never has a
// value spliced in. Identifiers go through pg::QuoteIdent.
#pragma once

#include <chrono>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/error.h"
#include "pg/result.h"

struct pg_conn;

namespace walferry::pg {

using Param = std::optional<std::string>;

// How values travel between source and target during CDC: the replication connection asks the walsender for text
// in this encoding and for money formatted under this lc_monetary; the apply session reads them back the same way.
// UTF8 holds every character of every server encoding, so no character is lost in transit (one the target's
// encoding cannot hold is a loud error there). 'C' exists on every server.
inline constexpr const char* kTransferEncoding = "UTF8";
inline constexpr const char* kTransferLcMonetary = "C";

// The libpq this binary runs with, e.g. "15.18".
std::string LibpqVersion();

// The application_name of a walferry session: `walferry_name` ("walferry cdc ...") when the user named none (or
// named it walferry...), else "walferry_name (user_name)", cut to the server's 63 bytes with the parenthesis kept.
std::string SessionName(const std::string& walferry_name, const std::string& user_name);

struct ConnectOptions {
  // Shown in errors and logs: "source", "target", ...
  std::string role = "server";
  // The session's application_name: walferry's sessions are known by a name that starts with "walferry" (cutover
  // neither waits for nor ends them). A name the user gave (conninfo, PGAPPNAME, service file) is kept inside it:
  // "walferry cutover (payroll)" (pg::SessionName).
  std::string application_name = "walferry";
  // "database" opens a logical replication connection (used by ReplicationConnection).
  std::string replication;
  // Sets client_encoding at connection start (overriding the conninfo's); empty: libpq's default.
  std::string client_encoding;
  // Exec() waits at most this long for the server's answer, then throws Error(kConnection) and the connection is
  // not to be used again: a half-open connection (a cut that closed nothing, a frozen middlebox) answers never,
  // and neither TCP keepalives nor tcp_user_timeout notice a middlebox that still acknowledges. 0: no limit (for
  // statements that may legitimately run long).
  std::chrono::seconds response_timeout{0};
};

class Connection {
 public:
  // Connects; PG* environment variables apply as in libpq. Unless the conninfo (or PG* variables) says otherwise,
  // connect_timeout=20, TCP keepalives (30 s idle, 10 s interval, 3 probes) and tcp_user_timeout=60 s, so a dead
  // peer is noticed. Throws Error(kConnection) with a redacted conninfo.
  static Connection Open(const std::string& conninfo, const ConnectOptions& options = {});

  Connection() = default;
  ~Connection();
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Simple query protocol: may hold several statements; returns the last result.
  Result Exec(std::string_view sql);
  // Extended protocol with text parameters ($1, $2, ...).
  Result Exec(std::string_view sql, std::span<const Param> params);
  Result Exec(std::string_view sql, std::initializer_list<Param> params) {
    return Exec(sql, std::span<const Param>(params.begin(), params.size()));
  }
  // Same, asking for binary-format result columns.
  Result ExecBinary(std::string_view sql, std::span<const Param> params);

  void Prepare(const std::string& name, std::string_view sql, int nparams);
  Result ExecPrepared(const std::string& name, std::span<const Param> params);

  // Pipeline mode (libpq >= 14): queue many statements, then read their results in order.
  void EnterPipeline();
  void ExitPipeline();
  void SendPrepared(const std::string& name, std::span<const Param> params);
  // Queues the creation of a named prepared statement (PQsendPrepare); its result arrives like a query's.
  void SendPrepare(const std::string& name, std::string_view sql, int nparams);
  void SendQuery(std::string_view sql, std::span<const Param> params);
  void PipelineSync();
  // Next result of the pipeline; throws on an error result. An empty Result marks the end of one query's
  // results; a Result with status PGRES_PIPELINE_SYNC marks a sync point (IsSync()).
  Result NextPipelineResult();
  bool IsSync(const Result& r) const;
  // Waits up to `timeout` for the next NextPipelineResult() to be ready without blocking (reading what arrives,
  // flushing what is queued); returns whether it is. Throws Error(kConnection) when the connection breaks.
  bool WaitForResult(std::chrono::milliseconds timeout);

  // Reads the rest of the results of the current command and throws the first error among them.
  void DrainResults();

  int ServerVersionNum() const;           // e.g. 150018
  std::string ParameterStatus(const char* name) const;  // server_version, TimeZone, ...
  int BackendPid() const;
  bool IsOk() const;
  // Asks the server to cancel the running query (safe from another thread).
  void Cancel() const;

  const std::string& role() const { return role_; }
  const std::string& redacted_conninfo() const { return redacted_; }
  const std::string& conninfo() const { return conninfo_; }

  // The raw handle, for pg/ code only (copy and replication streams).
  pg_conn* raw() const { return conn_; }
  // Builds an Error from the connection's last error message, with role and context.
  Error ConnectionError(std::string_view doing) const;
  // Throws if res is not a success status; returns it otherwise.
  Result Check(Result res, std::string_view sql) const;

 private:
  pg_conn* conn_ = nullptr;
  std::string role_;
  std::string conninfo_;
  std::string redacted_;
  std::unique_ptr<std::string> notice_role_;  // the notice receiver's argument; stable across moves
  std::chrono::seconds response_timeout_{0};

  // Exec with response_timeout_: sends (simple protocol when params is null), then collects the results, waiting
  // at most response_timeout_ for each; returns the last, as PQexec does.
  Result ExecWithDeadline(std::string_view sql, const std::span<const Param>* params);
};

// SET session_replication_role = replica on `conn` (writes as a logical replication apply does: user triggers and
// foreign-key checks do not act). Returns false, changing nothing, when the role may not set it (SQLSTATE 42501:
// neither a superuser nor granted SET on the parameter); the caller says what that means. Throws on other errors.
bool TrySetReplicaRole(Connection& conn);

// Runs fn() inside BEGIN ... COMMIT on conn; when fn (or COMMIT) throws, rolls back (if the connection is still
// usable) and rethrows the original error. Returns what fn returns.
template <typename Fn>
auto InTransaction(Connection& conn, Fn&& fn) -> decltype(fn()) {
  conn.Exec("BEGIN");
  try {
    if constexpr (std::is_void_v<decltype(fn())>) {
      fn();
      conn.Exec("COMMIT");
    } else {
      auto result = fn();
      conn.Exec("COMMIT");
      return result;
    }
  } catch (...) {
    if (conn.IsOk()) {
      try {
        conn.Exec("ROLLBACK");
      } catch (...) {
        // The original error matters; the server rolls back when the connection closes anyway.
      }
    }
    throw;
  }
}

}  // namespace walferry::pg
