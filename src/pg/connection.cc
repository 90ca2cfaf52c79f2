#include "pg/connection.h"

#include <libpq-fe.h>

#include <poll.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "common/log.h"
#include "pg/conninfo.h"
#include "pg/quote.h"

namespace walferry::pg {

namespace {
// Short SQL for error context: first line, at most 200 characters.
std::string Abbrev(std::string_view sql) {
  std::string s(sql.substr(0, sql.find('\n')));
  if (s.size() > 200) s = s.substr(0, 200) + "...";
  if (s.size() < sql.size()) s += " ...";
  return s;
}

// Server notices (NOTICE, WARNING, ...) go to walferry's log instead of libpq's default stderr printing:
// warnings at warn level, the rest (e.g. "relation already exists, skipping") at debug level.
void OnNotice(void* role, const PGresult* res) {
  const char* severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
  const char* message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  if (message == nullptr) return;
  auto logger = log::For("postgres");
  const std::string& who = *static_cast<const std::string*>(role);
  if (severity != nullptr && std::string_view(severity) == "WARNING") {
    logger->warn("{}: {}", who, message);
  } else {
    logger->debug("{}: {}: {}", who, severity ? severity : "NOTICE", message);
  }
}

struct ParamArrays {
  std::vector<const char*> values;
  explicit ParamArrays(std::span<const Param> params) {
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  }
  int n() const { return static_cast<int>(values.size()); }
  const char* const* data() const { return values.empty() ? nullptr : values.data(); }
};

std::string Field(const PGresult* res, int code) {
  const char* v = PQresultErrorField(res, code);
  return v ? v : "";
}
}  // namespace

std::string LibpqVersion() {
  int v = PQlibVersion();
  return std::to_string(v / 10000) + "." + std::to_string(v % 10000);
}

Connection Connection::Open(const std::string& conninfo, const ConnectOptions& options) {
  Connection c;
  c.role_ = options.role;
  c.conninfo_ = conninfo;
  c.redacted_ = RedactConninfo(conninfo);
  // expand_dbname=1: "dbname" holds the user's whole conninfo (URI or key=value); keywords after it override it,
  // fallback_application_name only applies when the user set none.
  // Network defaults come BEFORE dbname, so the user's conninfo overrides them (libpq keeps the last value).
  std::vector<const char*> keys = {"connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
                                   "keepalives_count", "tcp_user_timeout"};
  std::vector<const char*> vals = {"20", "1", "30", "10", "3", "60000"};
  keys.insert(keys.end(), {"dbname", "fallback_application_name"});
  vals.insert(vals.end(), {conninfo.c_str(), options.application_name.c_str()});
  if (!options.replication.empty()) {
    keys.push_back("replication");
    vals.push_back(options.replication.c_str());
  }
  if (!options.client_encoding.empty()) {
    keys.push_back("client_encoding");
    vals.push_back(options.client_encoding.c_str());
  }
  keys.push_back(nullptr);
  vals.push_back(nullptr);
  c.response_timeout_ = options.response_timeout;
  c.conn_ = PQconnectdbParams(keys.data(), vals.data(), 1);
  if (c.conn_ == nullptr) {
    throw Error(ErrorKind::kConnection, "out of memory allocating a connection to " + c.role_);
  }
  if (PQstatus(c.conn_) != CONNECTION_OK) {
    Error e = c.ConnectionError("connecting to " + c.role_ + " (" + c.redacted_ + ")");
    e.WithHint("check host, port, database name, user and password (or PGPASSWORD / ~/.pgpass), and that the "
               "server accepts connections from this host (pg_hba.conf)");
    throw e;
  }
  // The receiver keeps a pointer to this heap string, which moves with the Connection and so stays valid.
  c.notice_role_ = std::make_unique<std::string>(c.role_);
  PQsetNoticeReceiver(c.conn_, &OnNotice, c.notice_role_.get());
  const char* named = PQparameterStatus(c.conn_, "application_name");
  const std::string name = SessionName(options.application_name, named != nullptr ? named : "");
  if (named == nullptr || name != named) c.Exec("SET application_name = " + QuoteLiteral(name));
  return c;
}

std::string SessionName(const std::string& walferry_name, const std::string& user_name) {
  constexpr size_t kMaxBytes = 63;  // NAMEDATALEN - 1: the server cuts a longer name there
  // The name libpq reports is walferry's own when the user named none (fallback_application_name).
  if (user_name.empty() || user_name == walferry_name) return walferry_name;
  if (user_name.rfind("walferry", 0) == 0) return user_name;
  std::string name = walferry_name + " (" + user_name;
  if (name.size() + 1 > kMaxBytes) name.resize(kMaxBytes - 1);
  return name + ")";
}



Connection::~Connection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

Connection::Connection(Connection&& other) noexcept
    : conn_(other.conn_), role_(std::move(other.role_)), conninfo_(std::move(other.conninfo_)),
      redacted_(std::move(other.redacted_)), notice_role_(std::move(other.notice_role_)),
      response_timeout_(other.response_timeout_) {
  other.conn_ = nullptr;
}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = other.conn_;
    other.conn_ = nullptr;
    role_ = std::move(other.role_);
    conninfo_ = std::move(other.conninfo_);
    response_timeout_ = other.response_timeout_;
    redacted_ = std::move(other.redacted_);
    notice_role_ = std::move(other.notice_role_);
  }
  return *this;
}

Error Connection::ConnectionError(std::string_view doing) const {
  std::string msg = conn_ ? PQerrorMessage(conn_) : "no connection";
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  Error e(ErrorKind::kConnection, ScrubPassword(msg, conninfo_));
  e.AddContext(std::string(doing));
  return e;
}

Result Connection::Check(Result res, std::string_view sql) const {
  if (!res) throw ConnectionError(role_ + ": " + Abbrev(sql));
  switch (PQresultStatus(res.get())) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:
    case PGRES_EMPTY_QUERY:
    case PGRES_SINGLE_TUPLE:
    case PGRES_PIPELINE_SYNC:
      return res;
    default:
      break;
  }
  std::string sqlstate = Field(res.get(), PG_DIAG_SQLSTATE);
  std::string primary = Field(res.get(), PG_DIAG_MESSAGE_PRIMARY);
  if (primary.empty()) {
    primary = PQresultErrorMessage(res.get());
    while (!primary.empty() && primary.back() == '\n') primary.pop_back();
  }
  if (primary.empty()) primary = PQerrorMessage(conn_);
  // A broken connection (no SQLSTATE, or class 08) is a connection error, not an SQL error.
  bool broken = PQstatus(conn_) != CONNECTION_OK || sqlstate.starts_with("08");
  Error e(broken ? ErrorKind::kConnection : ErrorKind::kSql, ScrubPassword(primary, conninfo_));
  e.WithSqlState(sqlstate).WithDetail(Field(res.get(), PG_DIAG_MESSAGE_DETAIL))
      .WithHint(Field(res.get(), PG_DIAG_MESSAGE_HINT));
  e.AddContext(role_ + ": " + Abbrev(sql));
  throw e;
}

Result Connection::ExecWithDeadline(std::string_view sql, const std::span<const Param>* params) {
  std::string q(sql);
  int sent = 0;
  if (params) {
    ParamArrays p(*params);
    sent = PQsendQueryParams(conn_, q.c_str(), p.n(), nullptr, p.data(), nullptr, nullptr, 0);
  } else {
    sent = PQsendQuery(conn_, q.c_str());
  }
  if (sent != 1) throw ConnectionError(role_ + ": sending " + Abbrev(sql));
  Result last;
  while (true) {
    if (!WaitForResult(response_timeout_)) {
      throw Error(ErrorKind::kConnection, "no answer within " + std::to_string(response_timeout_.count()) +
                                              " s; the connection is taken for lost (a half-open network path?)")
          .AddContext(role_ + ": " + Abbrev(sql));
    }
    Result r(PQgetResult(conn_));
    if (!r) break;
    last = std::move(r);
  }
  return last;
}

Result Connection::Exec(std::string_view sql) {
  if (response_timeout_.count() > 0) return Check(ExecWithDeadline(sql, nullptr), sql);
  std::string q(sql);
  Result last(PQexec(conn_, q.c_str()));
  return Check(std::move(last), sql);
}

Result Connection::Exec(std::string_view sql, std::span<const Param> params) {
  if (response_timeout_.count() > 0) return Check(ExecWithDeadline(sql, &params), sql);
  ParamArrays p(params);
  std::string q(sql);
  return Check(Result(PQexecParams(conn_, q.c_str(), p.n(), nullptr, p.data(), nullptr, nullptr, 0)), sql);
}

Result Connection::ExecBinary(std::string_view sql, std::span<const Param> params) {
  ParamArrays p(params);
  std::string q(sql);
  return Check(Result(PQexecParams(conn_, q.c_str(), p.n(), nullptr, p.data(), nullptr, nullptr, 1)), sql);
}

void Connection::Prepare(const std::string& name, std::string_view sql, int nparams) {
  std::string q(sql);
  Check(Result(PQprepare(conn_, name.c_str(), q.c_str(), nparams, nullptr)), "PREPARE " + name + ": " + q);
}

Result Connection::ExecPrepared(const std::string& name, std::span<const Param> params) {
  ParamArrays p(params);
  return Check(Result(PQexecPrepared(conn_, name.c_str(), p.n(), p.data(), nullptr, nullptr, 0)),
               "EXECUTE " + name);
}

void Connection::EnterPipeline() {
  if (PQenterPipelineMode(conn_) != 1) throw ConnectionError(role_ + ": entering pipeline mode");
}

void Connection::ExitPipeline() {
  if (PQexitPipelineMode(conn_) != 1) throw ConnectionError(role_ + ": leaving pipeline mode");
}

void Connection::SendPrepared(const std::string& name, std::span<const Param> params) {
  ParamArrays p(params);
  if (PQsendQueryPrepared(conn_, name.c_str(), p.n(), p.data(), nullptr, nullptr, 0) != 1) {
    throw ConnectionError(role_ + ": queueing EXECUTE " + name);
  }
}

void Connection::SendPrepare(const std::string& name, std::string_view sql, int nparams) {
  std::string q(sql);
  if (PQsendPrepare(conn_, name.c_str(), q.c_str(), nparams, nullptr) != 1) {
    throw ConnectionError(role_ + ": queueing PREPARE " + name);
  }
}

void Connection::SendQuery(std::string_view sql, std::span<const Param> params) {
  ParamArrays p(params);
  std::string q(sql);
  if (PQsendQueryParams(conn_, q.c_str(), p.n(), nullptr, p.data(), nullptr, nullptr, 0) != 1) {
    throw ConnectionError(role_ + ": queueing " + Abbrev(sql));
  }
}

void Connection::PipelineSync() {
  if (PQpipelineSync(conn_) != 1) throw ConnectionError(role_ + ": sending pipeline sync");
}

Result Connection::NextPipelineResult() {
  PGresult* r = PQgetResult(conn_);
  if (r == nullptr) return Result();
  return Check(Result(r), "pipelined statement");
}

bool Connection::IsSync(const Result& r) const {
  return r && PQresultStatus(r.get()) == PGRES_PIPELINE_SYNC;
}

bool Connection::WaitForResult(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    // Blocking mode: PQflush sends everything queued (what the server must see before it can answer).
    if (PQflush(conn_) != 0) throw ConnectionError(role_ + ": sending to the server");
    if (PQconsumeInput(conn_) != 1) throw ConnectionError(role_ + ": reading from the server");
    if (PQisBusy(conn_) == 0) return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{PQsocket(conn_), POLLIN, 0};
    if (p.fd < 0) throw ConnectionError(role_ + ": waiting for a result");
    int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) {
      throw Error(ErrorKind::kConnection, std::string("poll: ") + std::strerror(errno))
          .AddContext(role_ + ": waiting for a result");
    }
  }
}

void Connection::DrainResults() {
  std::optional<Error> first;
  while (PGresult* r = PQgetResult(conn_)) {
    try {
      Check(Result(r), "draining results");
    } catch (const Error& e) {
      if (!first) first = e;
    }
  }
  if (first) throw *first;
}

int Connection::ServerVersionNum() const { return PQserverVersion(conn_); }

std::string Connection::ParameterStatus(const char* name) const {
  const char* v = PQparameterStatus(conn_, name);
  return v ? v : "";
}

int Connection::BackendPid() const { return PQbackendPID(conn_); }

bool Connection::IsOk() const { return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK; }

void Connection::Cancel() const {
  if (conn_ == nullptr) return;
  std::unique_ptr<PGcancel, decltype(&PQfreeCancel)> cancel(PQgetCancel(conn_), &PQfreeCancel);
  char err[256];
  if (cancel) PQcancel(cancel.get(), err, sizeof err);
}

bool TrySetReplicaRole(Connection& conn) {
  try {
    conn.Exec("SET session_replication_role = replica");
    return true;
  } catch (const Error& e) {
    if (e.sqlstate() != "42501") throw;
    return false;
  }
}

}  // namespace walferry::pg
