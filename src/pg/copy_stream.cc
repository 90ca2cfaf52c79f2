#include "pg/copy_stream.h"

#include <libpq-fe.h>

namespace walferry::pg {

CopyOut::CopyOut(Connection& conn, std::string_view sql) : conn_(conn), sql_(sql) {
  Result r = conn_.Check(Result(PQexec(conn_.raw(), sql_.c_str())), sql_);
  if (r.status() != PGRES_COPY_OUT) {
    throw Error(ErrorKind::kInternal, "statement did not start COPY TO STDOUT: " + sql_);
  }
}

CopyOut::~CopyOut() {
  FreeBuffer();
  if (!done_ && conn_.IsOk()) {
    // Abandoned mid-stream: cancel and swallow the rest so the connection is usable (or at least closable).
    conn_.Cancel();
    char* buf = nullptr;
    while (PQgetCopyData(conn_.raw(), &buf, 0) > 0) PQfreemem(buf);
    while (PGresult* r = PQgetResult(conn_.raw())) PQclear(r);
  }
}

void CopyOut::FreeBuffer() {
  if (buffer_ != nullptr) {
    PQfreemem(buffer_);
    buffer_ = nullptr;
  }
}

bool CopyOut::Next(std::string_view* chunk) {
  FreeBuffer();
  if (done_) return false;
  int n = PQgetCopyData(conn_.raw(), &buffer_, 0);
  if (n > 0) {
    ++rows_;
    *chunk = std::string_view(buffer_, static_cast<size_t>(n));
    return true;
  }
  done_ = true;
  if (n == -2) throw conn_.ConnectionError(conn_.role() + ": reading " + sql_);
  // n == -1: COPY finished; its final result tells success or failure.
  conn_.Check(Result(PQgetResult(conn_.raw())), sql_);
  conn_.DrainResults();
  return false;
}

CopyIn::CopyIn(Connection& conn, std::string_view sql) : conn_(conn), sql_(sql) {
  Result r = conn_.Check(Result(PQexec(conn_.raw(), sql_.c_str())), sql_);
  if (r.status() != PGRES_COPY_IN) {
    throw Error(ErrorKind::kInternal, "statement did not start COPY FROM STDIN: " + sql_);
  }
}

CopyIn::~CopyIn() {
  if (open_ && conn_.IsOk()) {
    try {
      Abort("walferry abandoned the copy");
    } catch (...) {
      // Destructors do not throw; the server rolls the COPY back either way.
    }
  }
}

void CopyIn::Put(std::string_view data) {
  if (PQputCopyData(conn_.raw(), data.data(), static_cast<int>(data.size())) != 1) {
    throw conn_.ConnectionError(conn_.role() + ": writing " + sql_);
  }
}

int64_t CopyIn::Finish() {
  open_ = false;
  if (PQputCopyEnd(conn_.raw(), nullptr) != 1) throw conn_.ConnectionError(conn_.role() + ": ending " + sql_);
  Result r = conn_.Check(Result(PQgetResult(conn_.raw())), sql_);
  int64_t rows = r.AffectedRows();
  conn_.DrainResults();
  return rows;
}

void CopyIn::Abort(const std::string& reason) {
  open_ = false;
  PQputCopyEnd(conn_.raw(), reason.c_str());
  while (PGresult* r = PQgetResult(conn_.raw())) PQclear(r);
}

int64_t CopyBetween(Connection& from, std::string_view copy_out_sql, Connection& to, std::string_view copy_in_sql,
                    int64_t* bytes) {
  CopyIn in(to, copy_in_sql);
  CopyOut out(from, copy_out_sql);
  std::string_view chunk;
  int64_t total = 0;
  while (out.Next(&chunk)) {
    in.Put(chunk);
    total += static_cast<int64_t>(chunk.size());
  }
  if (bytes != nullptr) *bytes = total;
  return in.Finish();
}

}  // namespace walferry::pg
