#include "plan/set_planner.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <set>

#include "common/error.h"

namespace walferry::plan {

namespace {

void CheckInput(const std::vector<TableStats>& tables, int set_count) {
  if (set_count < 1 || static_cast<size_t>(set_count) > tables.size()) {
    throw Error(ErrorKind::kConfig, "cannot plan " + std::to_string(set_count) + " sets for " +
                                        std::to_string(tables.size()) + " tables")
        .WithHint("ask for between 1 and " + std::to_string(tables.size()) + " sets (each set needs a table)");
  }
  std::set<pg::TableName> seen;
  for (const auto& t : tables) {
    if (!seen.insert(t.name).second) throw Error(ErrorKind::kData, "table " + t.name.Display() + " is listed twice");
    if (!std::isfinite(t.write_rate) || t.write_rate < 0) {
      throw Error(ErrorKind::kData, "write rate of " + t.name.Display() + " is " + std::to_string(t.write_rate) +
                                        "; it must be a finite number >= 0");
    }
    if (t.total_bytes < 0) {
      throw Error(ErrorKind::kData, "size of " + t.name.Display() + " is negative (" +
                                        std::to_string(t.total_bytes) + " bytes)");
    }
  }
}

// Heaviest first; name last so the order (and so the plan) never depends on the input order.
bool HeavierFirst(const TableStats& a, const TableStats& b) {
  if (a.write_rate != b.write_rate) return a.write_rate > b.write_rate;
  if (a.total_bytes != b.total_bytes) return a.total_bytes > b.total_bytes;
  return a.name < b.name;
}

// The set with the lowest write rate, ties broken by lower size, then lower index. A table with no writes cannot
// change any set's rate, so it goes to the smallest set instead: otherwise every idle table would pile onto
// whichever set happened to be lightest when the writers ran out.
size_t LightestSet(const std::vector<PlannedSet>& sets, const TableStats& table) {
  bool by_size = table.write_rate == 0;
  size_t best = 0;
  for (size_t i = 1; i < sets.size(); ++i) {
    const PlannedSet& s = sets[i];
    const PlannedSet& b = sets[best];
    bool rate_less = !by_size && s.write_rate < b.write_rate;
    bool rate_equal = by_size || s.write_rate == b.write_rate;
    if (rate_less || (rate_equal && s.total_bytes < b.total_bytes)) best = i;
  }
  return best;
}

// Tables linked by foreign keys, directly or through others (references to tables not planned are ignored).
// `sum` carries the group's total write rate and size, and its first table's name for a stable order.
struct Group {
  TableStats sum;
  std::vector<TableStats> tables;
};

std::vector<Group> LinkedGroups(const std::vector<TableStats>& tables) {
  std::map<pg::TableName, size_t> index;
  for (size_t i = 0; i < tables.size(); ++i) index[tables[i].name] = i;
  std::vector<size_t> parent(tables.size());
  std::iota(parent.begin(), parent.end(), size_t{0});
  auto root = [&](size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  };
  for (size_t i = 0; i < tables.size(); ++i) {
    for (const auto& ref : tables[i].references) {
      auto it = index.find(ref);
      if (it != index.end()) parent[root(i)] = root(it->second);
    }
  }
  std::map<size_t, Group> by_root;
  for (size_t i = 0; i < tables.size(); ++i) by_root[root(i)].tables.push_back(tables[i]);
  std::vector<Group> out;
  for (auto& [r, g] : by_root) {
    std::sort(g.tables.begin(), g.tables.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    g.sum.name = g.tables.front().name;
    for (const auto& t : g.tables) {
      g.sum.write_rate += t.write_rate;
      g.sum.total_bytes += t.total_bytes;
    }
    out.push_back(std::move(g));
  }
  return out;
}

std::string Reason(const TableStats& t) {
  std::string reason;
  if (t.pk_and_unique) reason = "pk_and_unique -> transactional";
  if (t.lob != config::LobSettings{} || !t.lob_reason.empty()) {
    std::string lob = "lob ";
    lob += t.lob.max_kb ? "max " + std::to_string(*t.lob.max_kb) + " kB, " + config::LobPolicyName(t.lob.policy)
                        : std::string("unlimited");
    if (!t.lob_reason.empty()) lob += " (" + t.lob_reason + ")";
    reason += (reason.empty() ? "" : "; ") + lob;
  }
  return reason;
}

config::TableConfig ToTableConfig(const TableStats& t) {
  config::TableConfig table;
  table.name = t.name;
  if (t.pk_and_unique) table.apply = config::ApplyMode::kTransactional;
  table.lob = t.lob;
  table.reason = Reason(t);
  return table;
}

// Sorts a set's tables by name and derives its config.
void Finish(PlannedSet& set, size_t index) {
  std::sort(set.tables.begin(), set.tables.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  set.config.name = "set_" + std::to_string(index + 1);
  bool all_transactional = true;
  for (const auto& t : set.tables) {
    set.config.tables.push_back(ToTableConfig(t));
    all_transactional = all_transactional && t.pk_and_unique;
  }
  set.config.apply = all_transactional ? config::ApplyMode::kTransactional : config::ApplyMode::kBatch;
}

double Imbalance(const std::vector<PlannedSet>& sets) {
  auto measure = [&](auto value) {
    double total = 0, max = 0;
    for (const auto& s : sets) {
      total += value(s);
      max = std::max(max, value(s));
    }
    double mean = total / static_cast<double>(sets.size());
    return mean > 0 ? max / mean - 1 : 0.0;
  };
  bool any_writes = std::any_of(sets.begin(), sets.end(), [](const auto& s) { return s.write_rate > 0; });
  if (any_writes) return measure([](const PlannedSet& s) { return s.write_rate; });
  return measure([](const PlannedSet& s) { return static_cast<double>(s.total_bytes); });
}

std::string HumanBytes(int64_t bytes) {
  static const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, unit == 0 ? "%.0f %s" : "%.1f %s", value, kUnits[unit]);
  return buf;
}

std::string Row(const std::string& table, const std::string& apply, const std::string& rate,
                const std::string& size, const std::string& reason) {
  char buf[512];
  std::snprintf(buf, sizeof buf, "  %-40s %-13s %12s %10s  %s", table.c_str(), apply.c_str(), rate.c_str(),
                size.c_str(), reason.c_str());
  std::string row = buf;
  row.erase(row.find_last_not_of(' ') + 1);
  return row + "\n";
}

std::string Rate(double rate) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", rate);
  return buf;
}

}  // namespace

std::vector<config::SetConfig> SetPlan::Configs() const {
  std::vector<config::SetConfig> out;
  for (const auto& s : sets) out.push_back(s.config);
  return out;
}

SetPlan PlanSets(const std::vector<TableStats>& tables, int set_count) {
  CheckInput(tables, set_count);
  std::vector<Group> groups = LinkedGroups(tables);
  std::sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) { return HeavierFirst(a.sum, b.sum); });
  SetPlan plan;
  size_t sets = std::min(static_cast<size_t>(set_count), groups.size());
  if (sets < static_cast<size_t>(set_count)) {
    plan.notes.push_back("asked for " + std::to_string(set_count) + " sets, planned " + std::to_string(sets) +
                         ": foreign keys link the " + std::to_string(tables.size()) + " tables into " +
                         std::to_string(groups.size()) + " group(s), and tables linked by a foreign key stay in one "
                         "set (their changes apply in one stream, in commit order)");
  }
  plan.sets.resize(sets);
  for (auto& g : groups) {
    PlannedSet& target = plan.sets[LightestSet(plan.sets, g.sum)];
    target.write_rate += g.sum.write_rate;
    target.total_bytes += g.sum.total_bytes;
    for (auto& t : g.tables) target.tables.push_back(std::move(t));
  }
  for (size_t i = 0; i < plan.sets.size(); ++i) Finish(plan.sets[i], i);
  plan.imbalance = Imbalance(plan.sets);
  return plan;
}

std::string ExplainPlan(const SetPlan& plan) {
  std::string out;
  for (const auto& set : plan.sets) {
    char head[256];
    std::snprintf(head, sizeof head, "set %s (slot walferry_%s): apply %s, %zu tables, %.1f changes/s, %s\n",
                  set.config.name.c_str(), set.config.name.c_str(), config::ApplyModeName(set.config.apply),
                  set.tables.size(), set.write_rate, HumanBytes(set.total_bytes).c_str());
    out += head;
    out += Row("table", "apply", "changes/s", "size", "reason");
    for (size_t i = 0; i < set.tables.size(); ++i) {
      const auto& stats = set.tables[i];
      const auto& table = set.config.tables[i];
      config::ApplyMode apply = table.apply.value_or(set.config.apply);
      out += Row(stats.name.Display(), config::ApplyModeName(apply), Rate(stats.write_rate),
                 HumanBytes(stats.total_bytes), table.reason);
    }
    out += "\n";
  }
  char tail[128];
  std::snprintf(tail, sizeof tail, "imbalance: busiest set is %.1f%% above an even split\n", plan.imbalance * 100);
  out += tail;
  for (const auto& note : plan.notes) out += "note: " + note + "\n";
  return out;
}

SetPlan PlanGivenSets(const std::vector<std::pair<std::string, std::vector<TableStats>>>& groups) {
  if (groups.empty()) throw Error(ErrorKind::kConfig, "no replication sets to plan");
  std::vector<TableStats> all;
  for (const auto& [name, tables] : groups) {
    if (tables.empty()) throw Error(ErrorKind::kConfig, "replication set '" + name + "' selects no table");
    all.insert(all.end(), tables.begin(), tables.end());
  }
  CheckInput(all, static_cast<int>(groups.size()));  // duplicates (a table in two sets), bad numbers
  SetPlan plan;
  for (size_t i = 0; i < groups.size(); ++i) {
    PlannedSet set;
    set.tables = groups[i].second;
    for (const auto& t : set.tables) {
      set.write_rate += t.write_rate;
      set.total_bytes += t.total_bytes;
    }
    Finish(set, i);
    set.config.name = groups[i].first;
    plan.sets.push_back(std::move(set));
  }
  plan.imbalance = Imbalance(plan.sets);
  std::map<pg::TableName, std::string> set_of;
  for (const auto& set : plan.sets) {
    for (const auto& t : set.tables) set_of[t.name] = set.config.name;
  }
  for (const auto& set : plan.sets) {
    for (const auto& t : set.tables) {
      for (const auto& ref : t.references) {
        auto it = set_of.find(ref);
        if (it == set_of.end() || it->second == set.config.name) continue;
        plan.notes.push_back("foreign key from " + t.name.Display() + " (set " + set.config.name + ") to " +
                             ref.Display() + " (set " + it->second + "): the two sets apply at their own pace, so "
                             "until both have caught up the target may hold a row whose referenced row has not "
                             "arrived (CDC applies without foreign-key checks; cutover catches every set up before "
                             "the switch). Put both tables in one set to avoid it");
      }
    }
  }
  return plan;
}

std::string SetNameFrom(const std::string& text) {
  std::string out;
  for (char c : text) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out += ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9')) ? l : '_';
  }
  if (out.size() > 48) out.resize(48);
  return out.empty() ? "set" : out;
}

}  // namespace walferry::plan
