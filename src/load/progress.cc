#include "load/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "common/error.h"
#include "common/log.h"
#include "pg/connection.h"

namespace walferry::load {

ProgressMonitor::ProgressMonitor(std::string target_conninfo, std::string set_name, int64_t estimated_bytes,
                                 size_t copies)
    : target_(std::move(target_conninfo)),
      set_name_(std::move(set_name)),
      estimated_bytes_(estimated_bytes),
      copies_(copies),
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
  if (tty_) std::fputs("\r\033[K", stderr);
}

void ProgressMonitor::Finished(int64_t bytes, int64_t rows) {
  done_bytes_ += bytes;
  done_rows_ += rows;
  ++done_copies_;
}

std::string ProgressMonitor::Line(int64_t running_bytes, int running) const {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const int64_t bytes = done_bytes_ + running_bytes;
  const double rate = seconds > 0 ? static_cast<double>(bytes) / seconds : 0;
  std::string eta = "?";
  if (rate > 0 && estimated_bytes_ > bytes) eta = fmt::format("{:.0f} s", (estimated_bytes_ - bytes) / rate);
  if (estimated_bytes_ <= bytes) eta = "soon";
  return fmt::format("set {}: {}/{} copies done, {} running; {:.1f} of ~{:.1f} MB, {} rows done; {:.1f} MB/s; "
                     "ETA {}",
                     set_name_, done_copies_.load(), copies_, running, bytes / 1048576.0,
                     estimated_bytes_ / 1048576.0, done_rows_.load(), rate / 1048576.0, eta);
}

void ProgressMonitor::Run() {
  const auto period = std::chrono::seconds(tty_ ? 1 : 10);
  try {
    pg::Connection target = pg::Connection::Open(target_, {.role = "target"});
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, period, [this] { return stop_; })) {
      lock.unlock();
      // Running COPYs into this database (walferry's workers are the only COPY writers during the load).
      pg::Result r = target.Exec(
          "SELECT coalesce(sum(bytes_processed), 0)::bigint, count(*) FROM pg_catalog.pg_stat_progress_copy "
          "WHERE datid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) "
          "AND command = 'COPY FROM'");
      std::string line = Line(r.GetInt(0, 0), static_cast<int>(r.GetInt(0, 1)));
      if (tty_) {
        std::fprintf(stderr, "\r\033[K%s", line.c_str());
        std::fflush(stderr);
      } else {
        log::For("load")->info("progress: {}", line);
      }
      lock.lock();
    }
  } catch (const std::exception& e) {
    log::For("load")->warn("progress display stopped: {}", e.what());
  }
}

}  // namespace walferry::load
