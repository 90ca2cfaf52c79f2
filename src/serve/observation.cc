// serve/observation.cc: one reading of the control schema and the source (observation.h); SQL in src/sql/serve/.
#include "serve/observation.h"

#include "control/control_schema.h"
#include "pg/quote.h"
#include "pg/server_version.h"
#include "serve/status_json.h"
#include "sql/sql.h"

namespace walferry::serve {
namespace {

constexpr int kExceptionsShown = 50;

std::optional<int64_t> OptInt(const pg::Result& r, int row, int col) {
  std::optional<std::string> v = r.GetOpt(row, col);
  if (!v) return std::nullopt;
  return std::stoll(*v);
}

bool TableExists(pg::Connection& target, const std::string& schema, const char* table) {
  return target.Exec(sql::Get("control/table_exists"), {pg::Param(schema), pg::Param(table)}).GetBool(0, 0);
}

// A text[] literal of `items` (each quoted and escaped), passed as one parameter.
std::string TextArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

void ReadSource(Observation& o, pg::Connection& source) {
  pg::Result r = source.Exec(sql::Get("serve/source_wal"));
  o.source_wal = Lsn::Parse(r.Get(0, 0));
  o.max_slot_wal_keep_bytes = OptInt(r, 0, 1);
  if (!pg::FeaturesOf(source.ServerVersionNum()).stat_replication_slots || o.load_state.empty()) return;
  std::vector<std::string> slots;
  std::map<std::string, std::string> set_of_slot;
  for (const auto& [set, state] : o.load_state) {
    slots.push_back(o.slot_name[set]);  // as the set's load recorded it (control::SlotName of the migration)
    set_of_slot[slots.back()] = set;
  }
  pg::Result s = source.Exec(sql::Get("serve/slot_stats"), {pg::Param(TextArray(slots))});
  for (int i = 0; i < s.rows(); ++i) {
    o.slot_stats[set_of_slot[std::string(s.Get(i, 0))]] = {OptInt(s, i, 1), OptInt(s, i, 2), OptInt(s, i, 3)};
  }
}

void ReadLoad(Observation& o, pg::Connection& target, pg::Connection& source, const std::string& schema) {
  pg::Result r = target.Exec(control::WithSchema(sql::Get("serve/load_progress"), schema));
  std::vector<std::string> schemas, names;
  std::map<std::pair<std::string, std::string>, std::vector<size_t>> pending;  // (schema, name) -> rows of tables
  for (int i = 0; i < r.rows(); ++i) {
    pg::TableName name{std::string(r.Get(i, 1)), std::string(r.Get(i, 2))};
    TableLoad t{.set = std::string(r.Get(i, 0)), .table = name.Display(), .state = std::string(r.Get(i, 3)),
                .rows_copied = r.GetInt(i, 4), .bytes_copied = r.GetInt(i, 5),
                .parts = static_cast<int>(r.GetInt(i, 6)), .parts_copied = static_cast<int>(r.GetInt(i, 7)),
                .copy_seconds = std::stod(std::string(r.Get(i, 8)))};
    if (t.state != "copied") {
      auto key = std::make_pair(name.schema, name.name);
      if (!pending.contains(key)) schemas.push_back(name.schema), names.push_back(name.name);
      pending[key].push_back(o.tables.size());
    }
    o.tables.push_back(std::move(t));
  }
  if (schemas.empty()) return;
  pg::Result s = source.Exec(sql::Get("serve/table_sizes"), {pg::Param(TextArray(schemas)), pg::Param(TextArray(names))});
  for (int i = 0; i < s.rows(); ++i) {
    for (size_t k : pending[{std::string(s.Get(i, 0)), std::string(s.Get(i, 1))}]) {
      o.tables[k].rows_estimated = OptInt(s, i, 2);
      o.tables[k].size_bytes = OptInt(s, i, 3);
    }
  }
}

void ReadTarget(Observation& o, pg::Connection& target, const std::string& schema) {
  auto q = [&](const char* name) { return control::WithSchema(sql::Get(name), schema); };
  pg::Result sets = target.Exec(q("serve/sets"));
  for (int i = 0; i < sets.rows(); ++i) {
    o.load_state[std::string(sets.Get(i, 0))] = std::string(sets.Get(i, 1));
    o.slot_name[std::string(sets.Get(i, 0))] = std::string(sets.Get(i, 2));
  }
  pg::Result c = target.Exec(q("serve/counters"));
  for (int i = 0; i < c.rows(); ++i) {
    o.counters[std::string(c.Get(i, 0))] = {std::string(c.Get(i, 1)), OptInt(c, i, 2), OptInt(c, i, 3),
                                            OptInt(c, i, 4), OptInt(c, i, 5)};
  }
  pg::Result v = target.Exec(q("serve/validation_differences"));
  for (int i = 0; i < v.rows(); ++i) o.validation_differences[std::string(v.Get(i, 0))] = v.GetInt(i, 1);
  if (TableExists(target, schema, "cutover")) {
    pg::Result cut = target.Exec(q("serve/cutover"));
    if (cut.rows() > 0) {
      o.cutover_step = std::string(cut.Get(0, 0));
      if (auto d = cut.GetOpt(0, 1)) o.cutover_downtime_seconds = std::stod(*d);
    }
  }
  pg::Result e = target.Exec(q("serve/exceptions"), {pg::Param(std::to_string(kExceptionsShown))});
  for (int i = 0; i < e.rows(); ++i) {
    o.exceptions.push_back({{"set", std::string(e.Get(i, 0))},
                            {"table", pg::TableName{std::string(e.Get(i, 1)), std::string(e.Get(i, 2))}.Display()},
                            {"time", std::string(e.Get(i, 3))},
                            {"statement", std::string(e.Get(i, 4))},
                            {"error", std::string(e.Get(i, 5))}});
  }
}

// A read-only snapshot for the reading's life on one server: a step recorded while serve reads (a cutover's, a
// load's) is seen by every part of the reading or by none, so /api/status and /metrics never disagree.
class Snapshot {
 public:
  explicit Snapshot(pg::Connection& conn) : conn_(conn) {
    conn_.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  }
  ~Snapshot() {
    try {
      conn_.Exec("COMMIT");  // only read; after an error this ends the failed transaction
    } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): the reading's own error is the one to report
    }
  }
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

 private:
  pg::Connection& conn_;
};

}  // namespace

Observation Observe(const config::Config& config, pg::Connection& target, pg::Connection& source, double now) {
  const Snapshot target_snapshot(target);
  const Snapshot source_snapshot(source);
  Observation o;
  o.time = now;
  const std::string& schema = config.control_schema;
  o.status = StatusJson(config, target, source);
  if (control::ControlSchema(target, schema).Exists()) {
    ReadTarget(o, target, schema);
    ReadLoad(o, target, source, schema);
  }
  ReadSource(o, source);
  return o;
}

}  // namespace walferry::serve
