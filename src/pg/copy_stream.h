// pg/copy_stream.h
//
// COPY streaming, text or binary: CopyOut reads COPY ... TO STDOUT in the chunks libpq delivers (one row per
// chunk), CopyIn writes COPY ... FROM STDIN. The bytes are passed through untouched, so a source-to-target copy
// never parses or re-encodes a value: what the source sends is exactly what the target reads.
// Each stream borrows its Connection; the connection is unusable for anything else until the stream ends.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pg/connection.h"

namespace walferry::pg {

class CopyOut {
 public:
  // Sends `sql` (a COPY ... TO STDOUT) and waits for the server to start sending. Throws on error.
  CopyOut(Connection& conn, std::string_view sql);
  ~CopyOut();
  CopyOut(const CopyOut&) = delete;
  CopyOut& operator=(const CopyOut&) = delete;

  // Next chunk (valid until the next call), or false at the end, after which the COPY's result has been checked.
  bool Next(std::string_view* chunk);
  int64_t rows() const { return rows_; }

 private:
  void FreeBuffer();
  Connection& conn_;
  std::string sql_;
  char* buffer_ = nullptr;
  bool done_ = false;
  int64_t rows_ = 0;
};

class CopyIn {
 public:
  // Sends `sql` (a COPY ... FROM STDIN). Throws on error.
  CopyIn(Connection& conn, std::string_view sql);
  // If neither Finish nor Abort ran, aborts the COPY so the target keeps nothing of it.
  ~CopyIn();
  CopyIn(const CopyIn&) = delete;
  CopyIn& operator=(const CopyIn&) = delete;

  void Put(std::string_view data);
  // Ends the COPY and returns the number of rows the server stored. Throws the server's error.
  int64_t Finish();
  void Abort(const std::string& reason);

 private:
  Connection& conn_;
  std::string sql_;
  bool open_ = true;
};

// Streams `copy_out_sql` on `from` into `copy_in_sql` on `to`, returning rows copied. Bytes are counted into
// *bytes when given. The formats of both statements must match (both binary or both text).
int64_t CopyBetween(Connection& from, std::string_view copy_out_sql, Connection& to, std::string_view copy_in_sql,
                    int64_t* bytes = nullptr);

}  // namespace walferry::pg
