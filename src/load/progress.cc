#include "load/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "common/error.h"
#include "common/log.h"
#include "pg/connection.h"
#include "pg/quote.h"
#include "pg/server_version.h"
#include "sql/sql.h"

namespace walferry::load {

namespace {

double Mb(int64_t bytes) { return static_cast<double>(bytes) / 1048576.0; }

// "12 s", "soon" (past the estimate) or "?" (no rate or no estimate yet).
std::string Eta(int64_t done, int64_t estimated, double seconds) {
  if (estimated <= 0 || seconds <= 0 || done <= 0) return "?";
  if (done >= estimated) return "soon";
  const double rate = static_cast<double>(done) / seconds;
  return fmt::format("{:.0f} s", static_cast<double>(estimated - done) / rate);
}

double Rate(int64_t bytes, double seconds) { return seconds > 0 ? Mb(bytes) / seconds : 0; }

}  // namespace

std::vector<std::string> ProgressLines(const ProgressState& s) {
  int64_t running_bytes = 0;
  for (const RunningTable& t : s.running) running_bytes += t.bytes;
  const int64_t bytes = s.done_bytes + running_bytes;
  std::vector<std::string> lines;
  lines.push_back(fmt::format("set {}: {}/{} copies done, {} copying; {:.1f} of ~{:.1f} MB, {} rows done; "
                              "{:.1f} MB/s; ETA {}",
                              s.set_name, s.done_copies, s.copies, s.running.size(), Mb(bytes),
                              Mb(s.estimated_bytes), s.done_rows, Rate(bytes, s.seconds),
                              Eta(bytes, s.estimated_bytes, s.seconds)));
  for (const RunningTable& t : s.running) {
    std::string of = t.estimated_bytes > 0 ? fmt::format(" of ~{:.1f}", Mb(t.estimated_bytes)) : "";
    std::string parts = t.copies > 1 ? fmt::format(" ({} parts)", t.copies) : "";
    lines.push_back(fmt::format("  {}{}: {:.1f}{} MB, {} rows, {:.1f} MB/s, ETA {}", t.table, parts, Mb(t.bytes), of,
                                t.rows, Rate(t.bytes, t.seconds), Eta(t.bytes, t.estimated_bytes, t.seconds)));
  }
  return lines;
}

ProgressMonitor::ProgressMonitor(std::string target_conninfo, std::string set_name, int64_t estimated_bytes,
                                 size_t copies, std::map<std::string, int64_t> estimates)
    : target_(std::move(target_conninfo)),
      set_name_(std::move(set_name)),
      estimated_bytes_(estimated_bytes),
      copies_(copies),
      estimates_(std::move(estimates)),
      tty_(isatty(2) == 1) {
  thread_ = std::thread([this] { Run(); });
}

ProgressMonitor::~ProgressMonitor() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (tty_) log::SetStatusBlock({});
}

void ProgressMonitor::Finished(int64_t bytes, int64_t rows) {
  done_bytes_ += bytes;
  done_rows_ += rows;
  ++done_copies_;
}

void ProgressMonitor::Run() {
  const auto period = std::chrono::seconds(tty_ ? 1 : 10);
  try {
    pg::Connection target = pg::Connection::Open(target_, {.role = "target"});
    // pg_stat_progress_copy came with 14: an older target shows the finished tables only.
    const bool copy_progress = pg::FeaturesOf(target.ServerVersionNum(), "target").copy_progress;
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, period, [this] { return stop_; })) {
      lock.unlock();
      const auto now = std::chrono::steady_clock::now();
      ProgressState state;
      state.set_name = set_name_;
      state.copies = copies_;
      state.done_copies = done_copies_;
      state.done_bytes = done_bytes_;
      state.done_rows = done_rows_;
      state.estimated_bytes = estimated_bytes_;
      state.seconds = std::chrono::duration<double>(now - start_).count();
      // Running COPYs into this database (walferry's workers are the only COPY writers during the load).
      if (copy_progress) {
        pg::Result r = target.Exec(sql::Get("load/copy_running"));
        for (int i = 0; i < r.rows(); ++i) {
          RunningTable t;
          t.table = pg::TableName{std::string(r.Get(i, 0)), std::string(r.Get(i, 1))}.Display();
          t.bytes = r.GetInt(i, 2);
          t.rows = r.GetInt(i, 3);
          t.copies = static_cast<int>(r.GetInt(i, 4));
          if (auto it = estimates_.find(t.table); it != estimates_.end()) t.estimated_bytes = it->second;
          t.seconds = std::stod(std::string(r.Get(i, 5)));
          state.running.push_back(std::move(t));
        }
      }
      std::vector<std::string> lines = ProgressLines(state);
      if (tty_) {
        log::SetStatusBlock(std::move(lines));
      } else {
        for (const std::string& line : lines) log::For("load")->info("progress: {}", line);
      }
      lock.lock();
    }
  } catch (const std::exception& e) {
    log::For("load")->warn("progress display stopped: {}", e.what());
  }
}

}  // namespace walferry::load
