// support/background_writes.h
//
// A workload of source transactions on its own session and thread while a test runs walferry against it: `round`
// is called with the session and n = 1, 2, ... until Stop(); rounds() counts the rounds finished. The first error
// ends the workload and is what Stop() returns ("" when there was none). Stop() and the destructor wait for the
// round in progress. Used by the version pairs and the generated-key tests (a kill of CDC while rows change).
#pragma once

#include <atomic>
#include <exception>
#include <functional>
#include <string>
#include <thread>
#include <utility>

#include "pg/connection.h"
#include "support/clusters.h"

namespace walferry::test {

class BackgroundWrites {
 public:
  BackgroundWrites(const std::string& db, std::function<void(pg::Connection&, int)> round) {
    thread_ = std::thread([this, db, round = std::move(round)] {
      try {
        pg::Connection s = ConnectSource(db);
        for (int n = 1; !stop_.load(); ++n) {
          round(s, n);
          rounds_.store(n);
        }
      } catch (const std::exception& e) {
        error_ = e.what();
      }
    });
  }
  BackgroundWrites(const BackgroundWrites&) = delete;
  BackgroundWrites& operator=(const BackgroundWrites&) = delete;
  ~BackgroundWrites() { Stop(); }

  int rounds() const { return rounds_.load(); }
  std::string Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    return error_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> rounds_{0};
  std::string error_;
  std::thread thread_;
};

}  // namespace walferry::test
