// serve/metrics.cc: the metrics of one Sample (metrics.h), through prometheus-cpp's registry and text serializer.
#include "serve/metrics.h"

#include <algorithm>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "control/states.h"

namespace walferry::serve {
namespace {

using prometheus::Labels;

// "CHANGE PROCESSING" -> "change_processing".
std::string LabelValue(std::string text) {
  for (char& c : text) c = c == ' ' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::optional<double> Number(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) return std::nullopt;
  const nlohmann::json& v = j[key];
  if (v.is_number()) return v.get<double>();
  return std::nullopt;
}

// An optional count or measure as a sample value (unset stays unset: no series).
template <typename T>
std::optional<double> AsDouble(const std::optional<T>& v) {
  return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
}

std::optional<double> LsnBytes(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_string()) return std::nullopt;
  std::optional<Lsn> lsn = Lsn::TryParse(j[key].get<std::string>());
  if (!lsn) return std::nullopt;
  return static_cast<double>(lsn->value());
}

// Families of one scrape; each Gauge/Counter call adds one series when the value is known.
class Builder {
 public:
  void Gauge(const std::string& name, const std::string& help, const Labels& labels, std::optional<double> value) {
    auto& family = prometheus::BuildGauge().Name(name).Help(help).Register(registry_);
    if (value) family.Add(labels).Set(*value);
  }
  void Counter(const std::string& name, const std::string& help, const Labels& labels, std::optional<double> value) {
    auto& family = prometheus::BuildCounter().Name(name).Help(help).Register(registry_);
    if (value && *value >= 0) family.Add(labels).Increment(*value);
  }
  std::string Text() const { return prometheus::TextSerializer().Serialize(registry_.Collect()); }

 private:
  prometheus::Registry registry_;  // Register() of a name already registered returns that family
};

void SetMetrics(Builder& b, const Sample& s, const nlohmann::json& set) {
  const std::string name = set.value("set", "");
  const Labels l{{"set", name}};
  b.Gauge("walferry_set_running", "1 while the set's CDC runs (fresh status row, slot read, state not final)", l,
          set.value("running", false) ? 1 : 0);
  auto c = s.obs.counters.find(name);
  if (c != s.obs.counters.end()) {
    for (auto state : {control::TaskState::kFullLoad, control::TaskState::kChangeProcessing,
                       control::TaskState::kCaughtUp, control::TaskState::kPaused, control::TaskState::kFailed,
                       control::TaskState::kStopped}) {
      b.Gauge("walferry_set_state", "1 for the set's CDC state as its status row says (also after its process ended)",
              {{"set", name}, {"state", LabelValue(control::ToString(state))}},
              c->second.task_status == control::ToString(state) ? 1 : 0);
    }
    b.Counter("walferry_changes_applied_total", "Row changes applied by the set's CDC process since it started", l,
              AsDouble(c->second.changes_applied));
    b.Counter("walferry_transactions_applied_total", "Source transactions applied by the set's CDC process", l,
              AsDouble(c->second.transactions_applied));
    b.Counter("walferry_groups_applied_total", "Target transactions (groups of source transactions) committed", l,
              AsDouble(c->second.groups_applied));
    b.Counter("walferry_retries_total", "Sessions the set's CDC process retried after a failure", l,
              AsDouble(c->second.retries));
  }
  auto d = s.sets.find(name);
  if (d != s.sets.end()) {
    b.Gauge("walferry_set_lag_bytes", "Source WAL from its current position to the target's checkpoint", l,
            AsDouble(d->second.lag_bytes));
    b.Gauge("walferry_set_lag_seconds", "Source commit time of the last applied transaction to now (0 caught up)", l,
            AsDouble(d->second.lag_seconds));
    b.Gauge("walferry_set_eta_seconds", "Estimated time to caught-up: lag / (apply rate - source WAL rate)", l,
            AsDouble(d->second.eta_seconds));
  }
  b.Gauge("walferry_set_applied_lsn_bytes", "The set's checkpoint (last applied commit LSN) as a byte position", l,
          LsnBytes(set, "applied_lsn"));
  b.Gauge("walferry_apply_exceptions", "Apply exceptions recorded for the set (after retention)", l,
          Number(set, "exceptions"));
  b.Gauge("walferry_suspended_tables", "Tables whose changes are no longer applied (cdc.error_policy)", l,
          static_cast<double>(set.value("suspended_tables", nlohmann::json::array()).size()));
  bool slot = set.contains("slot_active");
  b.Gauge("walferry_slot_exists", "1 when the set's replication slot exists on the source", l, slot ? 1 : 0);
  if (!slot) return;
  b.Gauge("walferry_slot_confirmed_lsn_bytes", "The slot's confirmed_flush_lsn as a byte position", l,
          LsnBytes(set, "slot_confirmed_lsn"));
  b.Gauge("walferry_slot_retained_wal_bytes", "WAL the slot keeps on the source", l,
          Number(set, "slot_retained_wal_bytes"));
  b.Gauge("walferry_slot_active", "1 while a walsender reads the slot", l, set.value("slot_active", false) ? 1 : 0);
  std::optional<double> safe = Number(set, "slot_safe_wal_bytes");
  b.Gauge("walferry_slot_safe_wal_bytes", "WAL left before max_slot_wal_keep_size invalidates the slot", l, safe);
  // Only with a max_slot_wal_keep_size set (the slot cannot be invalidated without one). Capped at 1: the server
  // counts safe_wal_size to the end of a whole WAL segment, a little past the setting.
  std::optional<double> ratio;
  if (safe && s.obs.max_slot_wal_keep_bytes && *s.obs.max_slot_wal_keep_bytes > 0) {
    ratio = std::min(1.0, *safe / static_cast<double>(*s.obs.max_slot_wal_keep_bytes));
  }
  b.Gauge("walferry_slot_safe_wal_ratio", "safe_wal_size / max_slot_wal_keep_size: 0 means about to be lost", l, ratio);
  if (set.contains("slot_wal_status") && set["slot_wal_status"].is_string()) {
    std::string current = set["slot_wal_status"].get<std::string>();
    for (const char* st : {"reserved", "extended", "unreserved", "lost"}) {
      b.Gauge("walferry_slot_wal_status", "1 for the slot's wal_status", {{"set", name}, {"wal_status", st}},
              current == st ? 1 : 0);
    }
  }
  auto stats = s.obs.slot_stats.find(name);
  if (stats != s.obs.slot_stats.end()) {
    b.Counter("walferry_slot_spill_bytes_total", "Decoded bytes spilled to disk (pg_stat_replication_slots)", l,
              AsDouble(stats->second.spill_bytes));
    b.Counter("walferry_slot_spill_transactions_total", "Transactions spilled to disk (pg_stat_replication_slots)", l,
              AsDouble(stats->second.spill_txns));
    b.Counter("walferry_slot_decoded_transactions_total", "Transactions decoded (pg_stat_replication_slots)", l,
              AsDouble(stats->second.total_txns));
  }
}

void LoadMetrics(Builder& b, const Sample& s) {
  for (const auto& [set, state] : s.obs.load_state) {
    for (auto st : {control::LoadState::kPending, control::LoadState::kLoading, control::LoadState::kIndexing,
                    control::LoadState::kLoaded, control::LoadState::kFailed}) {
      b.Gauge("walferry_set_load_state", "1 for the set's load state", {{"set", set}, {"state", control::ToString(st)}},
              state == control::ToString(st) ? 1 : 0);
    }
    auto v = s.obs.validation_differences.find(set);
    b.Gauge("walferry_validation_differences", "Differences recorded by validation (validation_failures rows)",
            {{"set", set}}, v == s.obs.validation_differences.end() ? 0 : static_cast<double>(v->second));
  }
  for (const TableLoad& t : s.obs.tables) {
    const Labels l{{"set", t.set}, {"table", t.table}};
    bool copied = t.state == "copied";
    b.Gauge("walferry_load_table_copied", "1 once every part of the table is copied", l, copied ? 1 : 0);
    b.Gauge("walferry_load_table_copied_bytes", "COPY bytes of the table written to the target", l,
            static_cast<double>(t.bytes_copied));
    b.Gauge("walferry_load_table_copied_rows", "Rows of the table copied to the target", l,
            static_cast<double>(t.rows_copied));
    std::optional<double> rows_total = copied ? std::optional<double>(static_cast<double>(t.rows_copied))
                                              : t.rows_estimated ? std::optional<double>(static_cast<double>(
                                                                       std::max(*t.rows_estimated, t.rows_copied)))
                                                                 : std::nullopt;
    b.Gauge("walferry_load_table_rows", "Rows of the table: the source's estimate until copied, then the count", l,
            rows_total);
    b.Gauge("walferry_load_table_source_size_bytes", "The table's size on the source (tables not yet copied)", l,
            t.size_bytes ? std::optional<double>(static_cast<double>(*t.size_bytes)) : std::nullopt);
    auto eta = s.table_eta.find(t.set + "\t" + t.table);
    b.Gauge("walferry_load_table_eta_seconds", "Estimated time until the table is copied", l,
            eta != s.table_eta.end() ? eta->second : std::nullopt);
  }
}

}  // namespace

std::string MetricsText(const Sample& s) {
  Builder b;
  b.Gauge("walferry_up", "1 when walferry serve could read the control schema and the source", {}, 1);
  b.Gauge("walferry_source_wal_lsn_bytes", "The source's current WAL position as a byte position", {},
          s.obs.source_wal.valid() ? std::optional<double>(static_cast<double>(s.obs.source_wal.value())) : std::nullopt);
  for (const auto& set : s.obs.status) {
    if (set.value("direction", "") == "forward") SetMetrics(b, s, set);
  }
  LoadMetrics(b, s);
  if (s.obs.cutover_step) {
    b.Gauge("walferry_cutover_step", "1 for walferry cutover's last step", {{"step", *s.obs.cutover_step}}, 1);
    b.Gauge("walferry_cutover_downtime_seconds", "Writes stopped on the source until the target was ready (or now)",
            {}, s.obs.cutover_downtime_seconds);
  }
  return b.Text();
}

std::string MetricsDownText() {
  Builder b;
  b.Gauge("walferry_up", "1 when walferry serve could read the control schema and the source", {}, 0);
  return b.Text();
}

}  // namespace walferry::serve
