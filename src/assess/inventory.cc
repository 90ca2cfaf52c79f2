// assess/inventory.cc: gathers the per-table and source-wide facts of an assessment. Read-only.
#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "assess/assessment.h"
#include "assess/lob_sizes.h"
#include "assess/preflight.h"
#include "common/log.h"
#include "pg/server_version.h"
#include "sql/sql.h"

namespace walferry::assess {

namespace {

struct Activity {
  int64_t ins = 0, upd = 0, del = 0;
};

std::string OidArray(const std::vector<TableAssessment>& tables) {
  std::string s = "{";
  for (const auto& t : tables) s += (s.size() > 1 ? "," : "") + std::to_string(t.info.oid);
  return s + "}";
}

// Reads activity counters, SELECT privilege, partitions and unique indexes; fills the latter three into tables.
std::map<uint32_t, Activity> ReadActivity(pg::Connection& conn, std::vector<TableAssessment>& tables) {
  pg::Result r = conn.Exec(sql::Get("assess/table_activity"), {pg::Param(OidArray(tables))});
  std::map<uint32_t, Activity> out;
  std::map<uint32_t, TableAssessment*> by_oid;
  for (auto& t : tables) by_oid[t.info.oid] = &t;
  for (int i = 0; i < r.rows(); ++i) {
    auto oid = static_cast<uint32_t>(r.GetInt(i, r.Column("oid")));
    out[oid] = {r.GetInt(i, r.Column("n_tup_ins")), r.GetInt(i, r.Column("n_tup_upd")),
                r.GetInt(i, r.Column("n_tup_del"))};
    TableAssessment& t = *by_oid.at(oid);
    t.can_select = r.GetBool(i, r.Column("can_select"));
    t.partitions = static_cast<int>(r.GetInt(i, r.Column("partitions")));
    t.unique_indexes.clear();
    if (auto u = r.GetOpt(i, r.Column("unique_indexes"))) {
      for (const auto& j : nlohmann::json::parse(*u)) {
        UniqueIndex idx{j.at("name").get<std::string>(), {}, j.at("constraint").get<bool>()};
        for (const auto& c : j.at("columns")) idx.columns.push_back(c.get<std::string>());
        t.unique_indexes.push_back(std::move(idx));
      }
    }
  }
  return out;
}

// Which tables each table's foreign keys point at (a partition's key belongs to its root: partitions are carried
// through their roots, so a reference to or from a partition counts as one to or from the root).
void ReadReferences(pg::Connection& conn, std::vector<TableAssessment>& tables) {
  std::map<pg::TableName, TableAssessment*> by_name;
  for (auto& t : tables) by_name[t.info.name] = &t;
  pg::Result r = conn.Exec(sql::Get("assess/foreign_keys"));
  for (int i = 0; i < r.rows(); ++i) {
    pg::TableName from{std::string(r.Get(i, 0)), std::string(r.Get(i, 1))};
    pg::TableName to{std::string(r.Get(i, 2)), std::string(r.Get(i, 3))};
    auto it = by_name.find(from);
    if (from == to || it == by_name.end()) continue;
    auto& refs = it->second->references;
    if (std::find(refs.begin(), refs.end(), to) == refs.end()) refs.push_back(to);
  }
}

// Write activity: two samples `interval` apart, or the counters averaged over their age.
void MeasureWrites(pg::Connection& conn, std::vector<TableAssessment>& tables, const AssessOptions& options,
                   Assessment& a) {
  auto first = ReadActivity(conn, tables);
  if (options.interval_seconds > 0) {
    log::For("assess")->info("measuring write rates over {} s", options.interval_seconds);
    auto start = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(options.interval_seconds));
    auto second = ReadActivity(conn, tables);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    a.rate_basis = "interval";
    a.rate_seconds = secs;
    for (auto& t : tables) {
      const Activity& b = first[t.info.oid];
      const Activity& e = second[t.info.oid];
      // Counters only grow between resets; a reset during the interval would make them shrink: count 0 then.
      t.inserts = std::max<int64_t>(0, e.ins - b.ins);
      t.updates = std::max<int64_t>(0, e.upd - b.upd);
      t.deletes = std::max<int64_t>(0, e.del - b.del);
      t.write_rate = static_cast<double>(t.inserts + t.updates + t.deletes) / secs;
    }
    return;
  }
  pg::Result age = conn.Exec(sql::Get("assess/stats_age"));
  double secs = age.rows() == 1 ? std::stod(std::string(age.Get(0, 0))) : 0;
  a.rate_basis = "since_stats_reset";
  a.rate_seconds = secs;
  for (auto& t : tables) {
    const Activity& c = first[t.info.oid];
    t.inserts = c.ins;
    t.updates = c.upd;
    t.deletes = c.del;
    t.write_rate = secs > 0 ? static_cast<double>(c.ins + c.upd + c.del) / secs : 0;
  }
}

std::vector<OtherRelation> ListOthers(pg::Connection& conn, const std::string& exclude_schema) {
  pg::Result r = conn.Exec(sql::Get("assess/other_relations"), {pg::Param(exclude_schema)});
  std::vector<OtherRelation> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({{std::string(r.Get(i, 0)), std::string(r.Get(i, 1))}, std::string(r.Get(i, 2))});
  }
  return out;
}

// Every include rule must select some table: a rule that matches nothing is a typo or a missing table.
void CheckRules(const std::vector<catalog::TableInfo>& all, const std::vector<config::SelectionRule>& rules) {
  for (const auto& rule : rules) {
    if (!rule.include) continue;
    bool any = std::any_of(all.begin(), all.end(), [&](const catalog::TableInfo& t) {
      return !t.is_partition && config::WildcardMatch(rule.schema_pattern, t.name.schema) &&
             config::WildcardMatch(rule.table_pattern, t.name.name);
    });
    if (any) continue;
    pg::TableName pattern{rule.schema_pattern, rule.table_pattern};
    bool wildcard = (rule.schema_pattern + rule.table_pattern).find('%') != std::string::npos;
    throw Error(ErrorKind::kConfig, wildcard ? "include rule " + pattern.Display() + " selects no table on the source"
                                             : "unknown table " + pattern.Display() + ": not on the source")
        .WithHint("check the name (case matters; quote mixed-case names: '\"Sales\".\"Orders\"') and the database");
  }
}

}  // namespace

const char* CheckStatusName(CheckStatus s) {
  switch (s) {
    case CheckStatus::kPass: return "PASS";
    case CheckStatus::kWarn: return "WARN";
    case CheckStatus::kFail: return "FAIL";
  }
  return "?";
}

bool Assessment::AnyFail() const {
  for (const auto& c : preflight) {
    if (c.status == CheckStatus::kFail) return true;
  }
  return false;
}

std::vector<const TableAssessment*> Assessment::Selected() const {
  std::vector<const TableAssessment*> out;
  for (const auto& t : tables) {
    if (t.selected) out.push_back(&t);
  }
  return out;
}

Assessment Assess(pg::Connection& source, const AssessOptions& options) {
  Assessment a;
  a.source = source.redacted_conninfo();
  a.lob_sizing = options.sample_percent ? "sample" : "exact";
  a.sample_percent = options.sample_percent;
  a.lob_limit_kb = options.lob_limit_kb;
  auto all = catalog::ListTables(source, options.control_schema);
  CheckRules(all, options.rules);
  auto selected = catalog::SelectTables(all, options.rules);  // throws kConfig when nothing is selected
  const bool publishes_generated = pg::FeaturesOf(source.ServerVersionNum()).publish_generated_columns;
  for (auto& info : all) {
    if (info.is_partition) continue;  // carried through its root; counted there
    TableAssessment t;
    t.source_publishes_generated_columns = publishes_generated;
    t.selected = catalog::Find(selected, info.name) != nullptr;
    t.info = std::move(info);
    a.tables.push_back(std::move(t));
  }
  WithContext("reading write activity", [&] { MeasureWrites(source, a.tables, options, a); });
  WithContext("reading foreign keys", [&] { ReadReferences(source, a.tables); });
  for (auto& t : a.tables) {
    if (t.selected && t.can_select) {
      WithContext("measuring LOB sizes of " + t.info.name.Display(),
                  [&] { MeasureLobSizes(source, t, options.sample_percent, options.lob_limit_kb); });
    }
    ComputeFindings(t);
  }
  a.others = WithContext("listing other relations", [&] { return ListOthers(source, options.control_schema); });
  RunPreflight(source, options, a);
  a.findings = SourceFindings(a);
  return a;
}

}  // namespace walferry::assess
