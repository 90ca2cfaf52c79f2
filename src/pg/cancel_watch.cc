#include "pg/cancel_watch.h"

#include <algorithm>
#include <chrono>

namespace walferry::pg {

CancelWatch::Registration::~Registration() {
  if (watch_ == nullptr) return;
  std::lock_guard lock(watch_->mu_);
  std::erase(watch_->conns_, conn_);
}

CancelWatch::CancelWatch(const std::atomic<bool>& stop)
    : flag_(stop), thread_([this](std::stop_token token) { Watch(token); }) {}

CancelWatch::~CancelWatch() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

CancelWatch::Registration CancelWatch::Register(const Connection& conn) {
  std::lock_guard lock(mu_);
  conns_.push_back(&conn);
  if (fired_) conn.Cancel();  // registered after the stop: nothing it starts may run on
  return Registration(this, &conn);
}

void CancelWatch::Watch(std::stop_token stop) {
  while (!stop.stop_requested()) {
    if (flag_.load()) {
      fired_ = true;
      std::lock_guard lock(mu_);
      for (const Connection* c : conns_) c->Cancel();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace walferry::pg
