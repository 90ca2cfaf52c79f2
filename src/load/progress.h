// load/progress.h
//
// Live progress of a set's copies while RunCopies runs: bytes of finished copies (reported by the workers) plus the
// bytes already processed by running COPYs (pg_stat_progress_copy on the target, read on its own connection),
// against the estimate (the tables' on-disk sizes; COPY bytes differ from it, so the ETA is a rough guide).
// On a terminal (isatty(2)) one status line on stderr refreshed every second; otherwise a log line every 10 s.
// Thread safety: Finished() may be called from any worker thread; the monitor thread is owned by the object and
// stopped (joined) by its destructor. Reads only; a failing progress query is logged once and the display stops.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace walferry::load {

class ProgressMonitor {
 public:
  ProgressMonitor(std::string target_conninfo, std::string set_name, int64_t estimated_bytes, size_t copies);
  ~ProgressMonitor();
  ProgressMonitor(const ProgressMonitor&) = delete;
  ProgressMonitor& operator=(const ProgressMonitor&) = delete;

  void Finished(int64_t bytes, int64_t rows);

 private:
  void Run();
  std::string Line(int64_t running_bytes, int running) const;

  std::string target_;
  std::string set_name_;
  int64_t estimated_bytes_;
  size_t copies_;
  std::atomic<int64_t> done_bytes_{0};
  std::atomic<int64_t> done_rows_{0};
  std::atomic<size_t> done_copies_{0};
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  bool tty_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace walferry::load
