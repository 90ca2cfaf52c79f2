// load/progress.h
//
// Live progress of a set's copies while RunCopies runs: bytes of finished copies (reported by the workers) plus the
// bytes and rows already processed by running COPYs (pg_stat_progress_copy on the target, read on its own
// connection, per table), against the estimates (the tables' on-disk sizes; COPY bytes differ from them, so each
// ETA is a rough guide).
// On a terminal (isatty(2)) a block at the bottom of stderr (log::SetStatusBlock, so log lines scroll above it)
// refreshed every second: one total line, then one line per table being copied (bytes, rows, rate, ETA).
// Otherwise the same lines as log lines every 10 s.
// Thread safety: Finished() may be called from any worker thread; the monitor thread is owned by the object and
// stopped (joined) by its destructor. Reads only; a failing progress query is logged once and the display stops.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace walferry::load {

// One table with COPYs running into it (several when it is split), as the display shows it.
struct RunningTable {
  std::string table;            // as TableName::Display() prints it
  int64_t bytes = 0;            // processed so far by its running COPYs
  int64_t rows = 0;
  int64_t estimated_bytes = 0;  // 0: unknown
  double seconds = 0;           // since its first running COPY started
  int copies = 1;
};

struct ProgressState {
  std::string set_name;
  size_t copies = 0;  // table copies (a split table counts once per part)
  size_t done_copies = 0;
  int64_t done_bytes = 0;
  int64_t done_rows = 0;
  int64_t estimated_bytes = 0;
  double seconds = 0;  // since the copies started
  std::vector<RunningTable> running;
};

// The display's lines: the total first, then one per running table. Pure.
std::vector<std::string> ProgressLines(const ProgressState& state);

class ProgressMonitor {
 public:
  // estimates: estimated bytes per table (Display() name), for the per-table ETA.
  ProgressMonitor(std::string target_conninfo, std::string set_name, int64_t estimated_bytes, size_t copies,
                  std::map<std::string, int64_t> estimates);
  ~ProgressMonitor();
  ProgressMonitor(const ProgressMonitor&) = delete;
  ProgressMonitor& operator=(const ProgressMonitor&) = delete;

  void Finished(int64_t bytes, int64_t rows);

 private:
  void Run();

  std::string target_;
  std::string set_name_;
  int64_t estimated_bytes_;
  size_t copies_;
  std::map<std::string, int64_t> estimates_;
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
