#include "assess/report.h"

#include <algorithm>
#include <cstdio>

namespace walferry::assess {

namespace {

std::string Kb(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(bytes) / 1024.0);
  return buf;
}

std::string Mb(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

// A plain text table: columns padded to their widest cell, separated by " | ".
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows) {
    if (width.size() < r.size()) width.resize(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  for (size_t n = 0; n < rows.size(); ++n) {
    std::string line;
    for (size_t i = 0; i < rows[n].size(); ++i) {
      line += (i ? " | " : "  ") + rows[n][i] + std::string(width[i] - rows[n][i].size(), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
    if (n == 0) {
      std::string rule = "  ";
      for (size_t i = 0; i < width.size(); ++i) rule += (i ? "-+-" : "") + std::string(width[i], '-');
      out += rule + "\n";
    }
  }
  return out;
}

std::string Identity(const catalog::TableInfo& t) {
  switch (t.replica_identity) {
    case 'd': return t.primary_key.empty() ? "none" : "pk";
    case 'f': return "full";
    case 'i': return "index";
    default: return "nothing";
  }
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::string InventoryTable(const Assessment& a) {
  std::vector<std::vector<std::string>> rows{
      {"Table", "Carried", "Size", "Est. rows", "Writes/s", "PK", "Replica identity", "Other unique"}};
  for (const auto& t : a.tables) {
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.2f", t.write_rate);
    std::vector<std::string> uniq;
    for (const auto& u : t.unique_indexes) uniq.push_back(u.name);
    rows.push_back({t.info.name.Display(), t.selected ? "yes" : "no", Mb(t.info.total_bytes()),
                    t.info.estimated_rows_known ? std::to_string(static_cast<int64_t>(t.info.estimated_rows))
                                                : "unknown (never analyzed)",
                    rate,
                    t.info.primary_key.empty() ? "-" : Join(t.info.primary_key), Identity(t.info),
                    uniq.empty() ? "-" : Join(uniq)});
  }
  return Table(rows);
}

std::string LobTable(const Assessment& a) {
  std::string limit = a.lob_limit_kb ? std::to_string(*a.lob_limit_kb) + " KB" : "limit";
  std::vector<std::vector<std::string>> rows{
      {"Table", "Column", "Type", "Max LOB Size (KB)", "p99 (KB)", "Truncations at " + limit, "Recommended limit"}};
  for (const auto& t : a.tables) {
    if (!t.lob_measured) continue;
    auto rec = t.RecommendedLob();
    for (const auto& l : t.lob_columns) {
      rows.push_back({t.info.name.Display(), l.column, l.large_object ? "large object" : l.type_name,
                      Kb(l.max_bytes) + (t.lob_estimated ? " (est.)" : ""), Kb(l.p99_bytes),
                      l.rows_over_limit ? std::to_string(*l.rows_over_limit) + " rows" : "-",
                      rec ? std::to_string(*rec->max_kb) + " KB" : "none"});
    }
  }
  return rows.size() > 1 ? Table(rows) : "  (no LOB columns in the carried tables)\n";
}

}  // namespace

std::string RenderText(const Assessment& a) {
  std::string out = "Source: " + a.source + " (PostgreSQL " + a.server_version + ", role " + a.role + ", database " +
                    a.database + ")\n";
  char basis[160];
  std::snprintf(basis, sizeof basis, "Write rates: %s over %.0f s. LOB sizes: %s%s.\n\n",
                a.rate_basis == "interval" ? "measured" : "averaged since the statistics were reset", a.rate_seconds,
                a.lob_sizing == "exact" ? "exact (every row)" : "ESTIMATED from a sample of ",
                a.sample_percent ? (std::to_string(*a.sample_percent) + "% of pages").c_str() : "");
  out += basis;
  out += "Tables\n" + InventoryTable(a) + "\nLOB columns (stored size, after TOAST compression)\n" + LobTable(a);
  std::vector<std::vector<std::string>> care{{"Table", "Column", "Type", "Needs care", "What to do"}};
  for (const auto& t : a.tables) {
    for (const auto& c : t.care) care.push_back({t.info.name.Display(), c.column, c.type_name, c.kind, c.advice});
  }
  if (care.size() > 1) out += "\nColumns that need care\n" + Table(care);
  out += "\nFindings\n";
  bool any = false;
  for (const auto& t : a.tables) {
    for (const auto& f : t.findings) {
      out += "  " + t.info.name.Display() + ": " + f.code + ": " + f.reason + "\n      fix: " + f.fix + "\n";
      any = true;
    }
  }
  for (const auto& f : a.findings) {
    out += "  source: " + f.code + ": " + f.reason + "\n      fix: " + f.fix + "\n";
    any = true;
  }
  if (!any) out += "  none\n";
  out += "\nPreflight\n";
  for (const auto& c : a.preflight) {
    out += std::string("  ") + CheckStatusName(c.status) + "  " + c.name + ": " + c.detail + "\n";
    if (!c.fix.empty()) out += "        fix: " + c.fix + "\n";
  }
  out += a.AnyFail() ? "\nResult: FAIL (fix the failing checks before migrating)\n" : "\nResult: ready\n";
  return out;
}

namespace {

nlohmann::json FindingJson(const Finding& f) { return {{"code", f.code}, {"reason", f.reason}, {"fix", f.fix}}; }

nlohmann::json TableJson(const TableAssessment& t) {
  nlohmann::json j{{"schema", t.info.name.schema},
                   {"name", t.info.name.name},
                   {"display_name", t.info.name.Display()},
                   {"selected", t.selected},
                   {"kind", t.info.relkind == 'p' ? "partitioned" : "table"},
                   {"persistence", t.info.persistence == 'u' ? "unlogged" : "permanent"},
                   {"partitions", t.partitions},
                   {"heap_bytes", t.info.heap_bytes},
                   {"toast_bytes", t.info.toast_bytes},
                   {"index_bytes", t.info.index_bytes},
                   {"total_bytes", t.info.total_bytes()},
                   {"estimated_rows", static_cast<int64_t>(t.info.estimated_rows)},
                   {"estimated_rows_known", t.info.estimated_rows_known},
                   {"inserts", t.inserts},
                   {"updates", t.updates},
                   {"deletes", t.deletes},
                   {"write_rate", t.write_rate},
                   {"primary_key", t.info.primary_key},
                   {"replica_identity", Identity(t.info)},
                   {"replica_identity_index", t.info.replica_identity_index},
                   {"can_select", t.can_select},
                   {"unique_indexes", nlohmann::json::array()},
                   {"lob_columns", nlohmann::json::array()},
                   {"lob_measured", t.lob_measured},
                   {"lob_estimated", t.lob_estimated},
                   {"rows_scanned", t.rows_scanned},
                   {"rows_over_limit", t.rows_over_limit ? nlohmann::json(*t.rows_over_limit) : nullptr},
                   {"recommended_lob_max_kb", nullptr},
                   {"care_columns", nlohmann::json::array()},
                   {"findings", nlohmann::json::array()},
                   {"references", nlohmann::json::array()}};
  for (const auto& ref : t.references) j["references"].push_back(ref.Display());
  if (auto rec = t.RecommendedLob()) j["recommended_lob_max_kb"] = *rec->max_kb;
  for (const auto& u : t.unique_indexes) {
    j["unique_indexes"].push_back({{"name", u.name}, {"columns", u.columns}, {"constraint", u.is_constraint}});
  }
  for (const auto& l : t.lob_columns) {
    j["lob_columns"].push_back({{"column", l.column},
                                {"type", l.type_name},
                                {"large_object", l.large_object},
                                {"max_bytes", l.max_bytes},
                                {"max_kb", static_cast<double>(l.max_bytes) / 1024.0},
                                {"p99_bytes", l.p99_bytes},
                                {"p99_kb", static_cast<double>(l.p99_bytes) / 1024.0},
                                {"rows_over_limit", l.rows_over_limit ? nlohmann::json(*l.rows_over_limit) : nullptr}});
  }
  for (const auto& c : t.care) {
    j["care_columns"].push_back({{"column", c.column}, {"type", c.type_name}, {"kind", c.kind}, {"advice", c.advice}});
  }
  for (const auto& f : t.findings) j["findings"].push_back(FindingJson(f));
  return j;
}

}  // namespace

nlohmann::json ToJson(const Assessment& a) {
  nlohmann::json j{{"version", kJsonVersion},
                   {"source", {{"conninfo", a.source}, {"server_version", a.server_version}, {"role", a.role},
                               {"database", a.database}}},
                   {"write_rates", {{"basis", a.rate_basis}, {"seconds", a.rate_seconds}}},
                   {"lob_sizes", {{"method", a.lob_sizing},
                                  {"sample_percent", a.sample_percent ? nlohmann::json(*a.sample_percent) : nullptr},
                                  {"limit_kb", a.lob_limit_kb ? nlohmann::json(*a.lob_limit_kb) : nullptr}}},
                   {"tables", nlohmann::json::array()},
                   {"other_relations", nlohmann::json::array()},
                   {"large_objects", {{"count", a.large_objects}, {"bytes", a.large_object_bytes}}},
                   {"extensions", a.extensions},
                   {"findings", nlohmann::json::array()},
                   {"preflight", nlohmann::json::array()},
                   {"result", a.AnyFail() ? "fail" : "pass"}};
  for (const auto& t : a.tables) j["tables"].push_back(TableJson(t));
  for (const auto& o : a.others) {
    j["other_relations"].push_back({{"schema", o.name.schema}, {"name", o.name.name}, {"kind", o.kind}});
  }
  for (const auto& f : a.findings) j["findings"].push_back(FindingJson(f));
  for (const auto& c : a.preflight) {
    j["preflight"].push_back(
        {{"check", c.name}, {"status", CheckStatusName(c.status)}, {"detail", c.detail}, {"fix", c.fix}});
  }
  return j;
}

}  // namespace walferry::assess
