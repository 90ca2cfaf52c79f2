// demo/writer.h
//
// The demo's application: a thread that keeps changing the sample database like a small shop would (new
// customers and orders, email changes on a table with a separate unique constraint, status updates, jsonb and
// bytea document edits, audit log inserts and deletes on a table without primary key) until Stop().
// Owns its connection. Start/Stop from one thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace walferry::demo {

class Writer {
 public:
  explicit Writer(std::string conninfo) : conninfo_(std::move(conninfo)) {}
  ~Writer() { Stop(); }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Starts the thread; about `per_second` transactions per second.
  void Start(int per_second);
  // Stops after the current transaction; rethrows nothing (an error is kept in error()).
  void Stop();

  int64_t transactions() const { return transactions_; }
  const std::string& error() const { return error_; }

 private:
  void Loop(int per_second);

  std::string conninfo_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> transactions_{0};
  std::string error_;
};

}  // namespace walferry::demo
