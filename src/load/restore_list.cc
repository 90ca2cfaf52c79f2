#include "load/restore_list.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <sstream>

#include "pg/quote.h"

namespace walferry::load {

std::vector<std::string> DumpTablePatterns(const std::vector<std::pair<std::string, std::string>>& tables,
                                           size_t max_chars) {
  std::vector<std::string> schemas;  // in first-seen order, so the patterns come out in the tables' order
  std::map<std::string, std::vector<std::string>> names;
  for (const auto& [schema, name] : tables) {
    if (names.find(schema) == names.end()) schemas.push_back(schema);
    names[schema].push_back(name);
  }
  std::vector<std::string> out;
  for (const auto& schema : schemas) {
    const std::string head = pg::QuoteIdent(schema) + ".(";
    std::string pattern;
    for (const auto& name : names[schema]) {
      std::string quoted = pg::QuoteIdent(name);
      if (!pattern.empty() && pattern.size() + quoted.size() + 2 > max_chars) {
        out.push_back(pattern + ")");
        pattern.clear();
      }
      pattern += (pattern.empty() ? head : "|") + quoted;
    }
    out.push_back(pattern + ")");
  }
  return out;
}

std::vector<TocEntry> ParseToc(const std::string& listing) {
  std::vector<TocEntry> out;
  std::istringstream in(listing);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == ';') continue;
    TocEntry e;
    e.line = line;
    std::istringstream fields(line);
    std::string id, classid, objid;
    fields >> id >> classid >> objid;
    e.classid = static_cast<uint32_t>(std::strtoul(classid.c_str(), nullptr, 10));
    e.objid = static_cast<uint32_t>(std::strtoul(objid.c_str(), nullptr, 10));
    std::getline(fields >> std::ws, e.rest);
    out.push_back(std::move(e));
  }
  return out;
}

bool IsTableEntry(const TocEntry& e) {
  // "TABLE ATTACH" (a partition attached to its parent) and "TABLE DATA" entries create no table.
  return e.rest.starts_with("TABLE ") && !e.rest.starts_with("TABLE ATTACH ") && !e.rest.starts_with("TABLE DATA ");
}

std::vector<std::vector<TocEntry>> SplitByTables(const std::vector<TocEntry>& toc, size_t max_tables) {
  max_tables = std::max<size_t>(max_tables, 1);
  std::vector<std::vector<TocEntry>> parts;
  size_t tables = 0;  // TABLE entries in parts.back()
  for (const TocEntry& e : toc) {
    const bool table = IsTableEntry(e);
    if (parts.empty() || (table && tables == max_tables)) {
      parts.emplace_back();
      tables = 0;
    }
    parts.back().push_back(e);
    if (table) ++tables;
  }
  return parts;
}

ResumedPostData PlanResumedPostData(const std::vector<TocEntry>& toc, const SourceObjects& source,
                                    const TargetObjects& target) {
  ResumedPostData plan;
  for (const TocEntry& e : toc) {
    auto named = source.find({e.classid, e.objid});
    auto there = named == source.end() ? target.end() : target.find(named->second.Address());
    if (there == target.end()) {
      plan.restore.push_back(e);
    } else if (there->second == named->second.definition) {
      plan.kept.push_back(there->first);
    } else {
      plan.conflicts.push_back(there->first + ": the target has `" + there->second + "`, the source `" +
                               named->second.definition + "`");
    }
  }
  return plan;
}

std::map<std::string, std::vector<TocEntry>> EarlyEntries(
    const std::vector<TocEntry>& toc, const std::map<std::pair<uint32_t, uint32_t>, std::string>& owners) {
  std::map<std::string, std::vector<TocEntry>> out;
  for (const TocEntry& e : toc) {
    // Entries that are no catalog object (classid 0: comments, INDEX ATTACH, ROW SECURITY) are never early.
    if (e.classid == 0) continue;
    auto owner = owners.find({e.classid, e.objid});
    if (owner != owners.end()) out[owner->second].push_back(e);
  }
  return out;
}

namespace {

bool IsSqlState(std::string_view s) {
  if (s.size() != 5) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> StoppingSqlState(std::string_view psql_output) {
  std::optional<std::string_view> last;  // psql's last message line
  size_t start = 0;
  while (start < psql_output.size()) {
    size_t end = psql_output.find('\n', start);
    if (end == std::string_view::npos) end = psql_output.size();
    std::string_view line = psql_output.substr(start, end - start);
    if (line.starts_with("psql:")) last = line;
    start = end + 1;
  }
  if (!last) return std::nullopt;
  // "<SEVERITY>:  <SQLSTATE>: ": the first colon followed by two spaces ends the (translated) severity.
  size_t severity_end = last->find(":  ");
  if (severity_end == std::string_view::npos) return std::nullopt;
  std::string_view code = last->substr(severity_end + 3, 6);
  if (code.size() != 6 || code[5] != ':' || !IsSqlState(code.substr(0, 5))) return std::nullopt;
  return std::string(code.substr(0, 5));
}

}  // namespace walferry::load
