// serve/monitor.cc: readings, derived lag, rates and ETAs, and the chart's history (monitor.h).
#include "serve/monitor.h"

#include <algorithm>

#include "common/error.h"

namespace walferry::serve {
namespace {

std::optional<Lsn> LsnOf(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_string()) return std::nullopt;
  return Lsn::TryParse(j[key].get<std::string>());
}

std::optional<double> NumberOf(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) return std::nullopt;
  const nlohmann::json& v = j[key];
  if (v.is_number()) return v.get<double>();
  if (!v.is_string()) return std::nullopt;
  try {
    return std::stod(v.get<std::string>());
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The target's position of a forward set: its checkpoint or, when further, its slot's confirmed position.
std::optional<Lsn> TargetPosition(const nlohmann::json& set) {
  std::optional<Lsn> applied = LsnOf(set, "applied_lsn");
  std::optional<Lsn> confirmed = LsnOf(set, "slot_confirmed_lsn");
  if (applied && confirmed) return std::max(*applied, *confirmed);
  return applied ? applied : confirmed;
}

}  // namespace

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Monitor::Monitor(config::Config config, MonitorOptions options)
    : config_(std::move(config)), options_(options) {}

std::shared_ptr<const Sample> Monitor::Refresh() {
  std::lock_guard lock(mu_);
  auto sample = std::make_shared<Sample>();
  {
    // Sessions for this reading only: `walferry cutover` (and fallback --switch-back) waits for every session that
    // connected before it stopped writes, and must never wait for serve's.
    const pg::ConnectOptions options{.application_name = "walferry serve",
                                     .response_timeout = std::chrono::seconds(30)};
    pg::ConnectOptions target_options = options, source_options = options;
    target_options.role = "target";
    source_options.role = "source";
    pg::Connection target = pg::Connection::Open(config_.target, target_options);
    pg::Connection source = pg::Connection::Open(config_.source, source_options);
    source.Exec("SET default_transaction_read_only = on");  // serve only reads
    sample->obs = Observe(config_, target, source, WallSeconds());
  }
  history_.push_back(Derive(*sample, history_, options_));
  const double now = sample->obs.time;
  while (!history_.empty() && history_.front().time < now - options_.history_seconds) history_.pop_front();
  for (HistoryPoint& p : history_) {
    if (p.time >= now - options_.rate_window_seconds) break;
    p.table_rows.clear();  // only rates use them
  }
  latest_ = sample;
  return sample;
}

std::shared_ptr<const Sample> Monitor::Current(double max_age_seconds) {
  {
    std::lock_guard lock(mu_);
    if (latest_ && latest_->obs.time >= WallSeconds() - max_age_seconds) return latest_;
  }
  return Refresh();
}

HistoryPoint Derive(Sample& s, const std::deque<HistoryPoint>& history, const MonitorOptions& options) {
  HistoryPoint point{.time = s.obs.time, .source_wal = s.obs.source_wal};
  // The oldest reading within the rate window, for rates.
  const HistoryPoint* base = nullptr;
  for (const HistoryPoint& h : history) {
    if (h.time >= s.obs.time - options.rate_window_seconds && h.time < s.obs.time) {
      base = &h;
      break;
    }
  }
  double dt = base ? s.obs.time - base->time : 0;
  for (const auto& set : s.obs.status) {
    if (set.value("direction", "") != "forward") continue;
    std::string name = set.value("set", "");
    SetDerived d;
    std::optional<Lsn> pos = TargetPosition(set);
    if (pos && s.obs.source_wal.valid()) d.lag_bytes = static_cast<int64_t>(s.obs.source_wal.BytesSince(*pos));
    d.lag_seconds = NumberOf(set, "latency_seconds");
    if (base && dt > 0) {
      auto old = base->sets.find(name);
      if (pos && old != base->sets.end() && old->second.target_position) {
        d.apply_rate_bytes = static_cast<double>(pos->BytesSince(*old->second.target_position)) / dt;
      }
      if (base->source_wal.valid()) {
        d.source_rate_bytes = static_cast<double>(s.obs.source_wal.BytesSince(base->source_wal)) / dt;
      }
    }
    if ((d.lag_bytes && *d.lag_bytes == 0) || (set.value("running", false) && d.lag_seconds == 0.0)) {
      // Nothing left, or the running worker says it has applied everything the source sent it.
      d.eta_seconds = 0;
    } else if (d.lag_bytes && d.apply_rate_bytes && d.source_rate_bytes && *d.apply_rate_bytes > *d.source_rate_bytes) {
      d.eta_seconds = static_cast<double>(*d.lag_bytes) / (*d.apply_rate_bytes - *d.source_rate_bytes);
    }
    point.sets[name] = {pos, d.lag_bytes, d.lag_seconds, NumberOf(set, "rows_per_second")};
    s.sets[name] = d;
  }
  for (const TableLoad& t : s.obs.tables) {
    std::string key = t.set + "\t" + t.table;
    std::optional<double> eta;
    if (t.state == "copied") {
      eta = 0;
    } else {
      point.table_rows[key] = t.rows_copied;
      auto old = base ? base->table_rows.find(key) : std::map<std::string, int64_t>::const_iterator();
      if (base && dt > 0 && old != base->table_rows.end() && old->second < t.rows_copied && t.rows_estimated &&
          *t.rows_estimated > t.rows_copied) {
        double rate = static_cast<double>(t.rows_copied - old->second) / dt;
        eta = static_cast<double>(*t.rows_estimated - t.rows_copied) / rate;
      }
    }
    s.table_eta[key] = eta;
  }
  return point;
}

nlohmann::json Monitor::HistoryJson() {
  std::lock_guard lock(mu_);
  nlohmann::json out = nlohmann::json::array();
  auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  for (const HistoryPoint& h : history_) {
    nlohmann::json sets = nlohmann::json::object();
    for (const auto& [name, p] : h.sets) {
      sets[name] = {{"lag_bytes", opt(p.lag_bytes)}, {"lag_seconds", opt(p.lag_seconds)},
                    {"rows_per_second", opt(p.rows_per_second)}};
    }
    out.push_back({{"time", h.time}, {"sets", sets}});
  }
  return out;
}

}  // namespace walferry::serve
