// serve/monitor.h
//
// Keeps `walferry serve`'s readings: takes an Observation on request (and, from the server's sampler thread,
// every interval), derives per set the lag in bytes and seconds, the apply and source WAL rates and the ETA to
// caught-up, per table the load's ETA, and keeps the last hour of lag and throughput for the page's chart.
// Lag in bytes runs from the source's current WAL position to the target's position: the set's checkpoint (the
// last applied commit) or, when further, the slot's confirmed position (which walferry moves past the checkpoint
// only over WAL that holds nothing for the set). Lag in seconds is the CDC worker's own (source commit time of the
// last applied transaction to now; 0 once caught up), as the status row says.
// ETA to caught-up: 0 without lag or while the running worker says it is caught up (lag seconds 0), else lag bytes /
// (apply rate - source WAL rate), both over the last rate_window_seconds; none while the apply rate does not exceed
// the source's (the lag does not shrink).
// Thread-safe: every member may be called from any thread (one mutex; the readings are serialized).
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "pg/connection.h"
#include "serve/observation.h"

namespace walferry::serve {

struct SetDerived {
  std::optional<int64_t> lag_bytes;
  std::optional<double> lag_seconds;
  std::optional<double> apply_rate_bytes;   // target position's advance, bytes/s
  std::optional<double> source_rate_bytes;  // source WAL's advance, bytes/s
  std::optional<double> eta_seconds;        // to caught-up; 0 when no lag
};

struct Sample {
  Observation obs;
  std::map<std::string, SetDerived> sets;                 // forward sets with a status row
  std::map<std::string, std::optional<double>> table_eta;  // "set\ttable" -> seconds to copied
};

// What the history keeps of one reading: small, so an hour of readings stays small with thousands of tables.
struct HistoryPoint {
  struct SetPoint {
    std::optional<Lsn> target_position;  // checkpoint or, when further, the slot's confirmed position
    std::optional<int64_t> lag_bytes;
    std::optional<double> lag_seconds;
    std::optional<double> rows_per_second;
  };
  double time = 0;
  Lsn source_wal;
  std::map<std::string, SetPoint> sets;             // forward sets
  std::map<std::string, int64_t> table_rows;        // "set\ttable" -> rows copied, tables not yet copied; kept
                                                    // only within the rate window
};

struct MonitorOptions {
  double history_seconds = 3600;     // the chart's span
  double rate_window_seconds = 300;  // rates and ETAs over this much of the history
};

// Fills s.sets and s.table_eta from the reading `s` and the earlier readings (`history`, oldest first) as the
// header describes; returns the reading's history point. Pure.
HistoryPoint Derive(Sample& s, const std::deque<HistoryPoint>& history, const MonitorOptions& options);

class Monitor {
 public:
  Monitor(config::Config config, MonitorOptions options);

  // A fresh reading, recorded in the history, through a target and a source session opened for it and closed after
  // it (serve holds no session between readings: a cutover waits for the sessions from before its switch).
  // Throws Error(kConnection/kSql/kData).
  std::shared_ptr<const Sample> Refresh();
  // The newest reading when it is at most max_age_seconds old, else Refresh().
  std::shared_ptr<const Sample> Current(double max_age_seconds);
  // The history for the chart: [{time, sets: {set: {lag_bytes, lag_seconds, rows_per_second}}}], oldest first.
  nlohmann::json HistoryJson();

 private:
  const config::Config config_;
  const MonitorOptions options_;
  std::mutex mu_;
  std::shared_ptr<const Sample> latest_;
  std::deque<HistoryPoint> history_;  // oldest first, within history_seconds
};

// Now, in seconds since the epoch.
double WallSeconds();

}  // namespace walferry::serve
