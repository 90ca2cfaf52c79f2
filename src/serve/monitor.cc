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

const nlohmann::json* FindSet(const nlohmann::json& status, const std::string& name) {
  for (const auto& s : status) {
    if (s.value("direction", "") == "forward" && s.value("set", "") == name) return &s;
  }
  return nullptr;
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
  try {
    if (!target_) {
      target_ = pg::Connection::Open(config_.target, {.role = "target", .application_name = "walferry serve",
                                                      .response_timeout = std::chrono::seconds(30)});
    }
    if (!source_) {
      source_ = pg::Connection::Open(config_.source, {.role = "source", .application_name = "walferry serve",
                                                      .response_timeout = std::chrono::seconds(30)});
      source_->Exec("SET default_transaction_read_only = on");  // serve only reads, also during a cutover
    }
    sample->obs = Observe(config_, *target_, *source_, WallSeconds());
  } catch (const Error&) {
    target_.reset();
    source_.reset();
    throw;
  }
  Derive(*sample);
  history_.push_back(sample);
  while (!history_.empty() && history_.front()->obs.time < sample->obs.time - options_.history_seconds) {
    history_.pop_front();
  }
  return sample;
}

std::shared_ptr<const Sample> Monitor::Current(double max_age_seconds) {
  {
    std::lock_guard lock(mu_);
    if (!history_.empty() && history_.back()->obs.time >= WallSeconds() - max_age_seconds) return history_.back();
  }
  return Refresh();
}

// Called with mu_ held: history_ holds the earlier samples.
void Monitor::Derive(Sample& s) const {
  // The oldest sample within the rate window, for rates.
  std::shared_ptr<const Sample> base;
  for (const auto& h : history_) {
    if (h->obs.time >= s.obs.time - options_.rate_window_seconds && h->obs.time < s.obs.time) {
      base = h;
      break;
    }
  }
  double dt = base ? s.obs.time - base->obs.time : 0;
  for (const auto& set : s.obs.status) {
    if (set.value("direction", "") != "forward") continue;
    std::string name = set.value("set", "");
    SetDerived d;
    std::optional<Lsn> pos = TargetPosition(set);
    if (pos && s.obs.source_wal.valid()) d.lag_bytes = static_cast<int64_t>(s.obs.source_wal.BytesSince(*pos));
    d.lag_seconds = NumberOf(set, "latency_seconds");
    if (base && dt > 0) {
      const nlohmann::json* old = FindSet(base->obs.status, name);
      std::optional<Lsn> old_pos = old ? TargetPosition(*old) : std::nullopt;
      if (pos && old_pos) d.apply_rate_bytes = static_cast<double>(pos->BytesSince(*old_pos)) / dt;
      if (base->obs.source_wal.valid()) {
        d.source_rate_bytes = static_cast<double>(s.obs.source_wal.BytesSince(base->obs.source_wal)) / dt;
      }
    }
    if ((d.lag_bytes && *d.lag_bytes == 0) || (set.value("running", false) && d.lag_seconds == 0.0)) {
      // Nothing left, or the running worker says it has applied everything the source sent it.
      d.eta_seconds = 0;
    } else if (d.lag_bytes && d.apply_rate_bytes && d.source_rate_bytes && *d.apply_rate_bytes > *d.source_rate_bytes) {
      d.eta_seconds = static_cast<double>(*d.lag_bytes) / (*d.apply_rate_bytes - *d.source_rate_bytes);
    }
    s.sets[name] = d;
  }
  for (const TableLoad& t : s.obs.tables) {
    std::string key = t.set + "\t" + t.table;
    std::optional<double> eta;
    if (t.state == "copied") {
      eta = 0;
    } else if (base && dt > 0 && t.rows_estimated && *t.rows_estimated > t.rows_copied) {
      for (const TableLoad& o : base->obs.tables) {
        if (o.set != t.set || o.table != t.table || o.rows_copied >= t.rows_copied) continue;
        double rate = static_cast<double>(t.rows_copied - o.rows_copied) / dt;
        eta = static_cast<double>(*t.rows_estimated - t.rows_copied) / rate;
      }
    }
    s.table_eta[key] = eta;
  }
}

nlohmann::json Monitor::HistoryJson() {
  std::lock_guard lock(mu_);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& h : history_) {
    nlohmann::json sets = nlohmann::json::object();
    for (const auto& [name, d] : h->sets) {
      const nlohmann::json* set = FindSet(h->obs.status, name);
      nlohmann::json p;
      p["lag_bytes"] = d.lag_bytes ? nlohmann::json(*d.lag_bytes) : nlohmann::json();
      p["lag_seconds"] = d.lag_seconds ? nlohmann::json(*d.lag_seconds) : nlohmann::json();
      std::optional<double> rate = set ? NumberOf(*set, "rows_per_second") : std::nullopt;
      p["rows_per_second"] = rate ? nlohmann::json(*rate) : nlohmann::json();
      sets[name] = p;
    }
    out.push_back({{"time", h->obs.time}, {"sets", sets}});
  }
  return out;
}

}  // namespace walferry::serve
