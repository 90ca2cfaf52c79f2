// pg/cancel_watch.h
//
// Cancels the running statements of a group of connections once a stop flag (Ctrl-C: CancelFlag()) reads true,
// while the threads that own those connections are blocked in libpq (a COPY that streams for an hour checks no
// flag). A thread of the watch reads the flag every 100 ms; once it is set, it sends a cancel request
// (Connection::Cancel, PQcancel) to every registered connection, and again every 100 ms until the watch ends, so a
// statement started between two requests is cancelled too. The owners see the server's "canceling statement due
// to user request" error (SQLSTATE 57014) and roll back as after any error.
// Thread safety: Register() and the registrations' destructors may be called from any thread. A registered
// Connection must stay alive (and not be moved) until its Registration is destroyed.
#pragma once

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "pg/connection.h"

namespace walferry::pg {

class CancelWatch {
 public:
  // Removes its connection from the watch on destruction. Move-only.
  class Registration {
   public:
    Registration(CancelWatch* watch, const Connection* conn) : watch_(watch), conn_(conn) {}
    ~Registration();
    Registration(Registration&& other) noexcept : watch_(other.watch_), conn_(other.conn_) { other.watch_ = nullptr; }
    Registration& operator=(Registration&&) = delete;
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;

   private:
    CancelWatch* watch_;
    const Connection* conn_;
  };

  explicit CancelWatch(const std::atomic<bool>& stop);
  // Stops (joins) the watching thread. Every Registration must have ended before.
  ~CancelWatch();
  CancelWatch(const CancelWatch&) = delete;
  CancelWatch& operator=(const CancelWatch&) = delete;

  [[nodiscard]] Registration Register(const Connection& conn);
  // Whether the flag was seen set (the registered connections' statements were cancelled).
  bool fired() const { return fired_; }

 private:
  void Watch(std::stop_token stop);

  const std::atomic<bool>& flag_;
  std::atomic<bool> fired_{false};
  std::mutex mu_;
  std::vector<const Connection*> conns_;  // guarded by mu_
  std::jthread thread_;                   // last: started once the members above exist
};

}  // namespace walferry::pg
