#include "validate/report_text.h"

#include <fmt/format.h>

namespace walferry::validate {

namespace {

constexpr size_t kPrintedDifferences = 50;  // per table in text output; all are in JSON and the control schema

nlohmann::json MismatchJson(const TableResult& t, const Mismatch& m) {
  nlohmann::json j = {{"kind", MismatchKindName(m.kind)}, {"key", t.KeyText(m)}, {"details", m.details}};
  if (!t.key_columns.empty()) j["key_values"] = m.key;
  if (t.key_columns.empty()) j["row_md5"] = m.row_hash, j["copies"] = m.copies;
  return j;
}

nlohmann::json TableJson(const TableResult& t) {
  nlohmann::json j = {{"table", t.table.Display()}, {"schema", t.table.schema}, {"name", t.table.name},
                      {"key_columns", t.key_columns}, {"source_rows", t.source_rows}, {"target_rows", t.target_rows},
                      {"seconds", t.seconds}, {"equal", t.Equal()}, {"truncated", t.truncated}};
  if (!t.problem.empty()) j["problem"] = t.problem;
  j["differences"] = nlohmann::json::array();
  for (const auto& m : t.mismatches) j["differences"].push_back(MismatchJson(t, m));
  if (t.repair_ran) {
    j["repaired_rows"] = t.repaired;
    j["remaining"] = nlohmann::json::array();
    for (const auto& m : t.remaining) j["remaining"].push_back(MismatchJson(t, m));
  }
  return j;
}

}  // namespace

nlohmann::json ReportJson(const Report& report) {
  nlohmann::json j = {{"equal", report.Equal()}, {"seconds", report.seconds}, {"sets", nlohmann::json::array()}};
  for (const auto& s : report.sets) {
    nlohmann::json sj = {{"set", s.set_name}, {"snapshot_lsn", s.snapshot_lsn.ToString()}, {"equal", s.Equal()}};
    sj["applied_lsn"] = s.applied_lsn ? nlohmann::json(s.applied_lsn->ToString()) : nlohmann::json();
    sj["recheck_lsn"] = s.recheck_lsn ? nlohmann::json(s.recheck_lsn->ToString()) : nlohmann::json();
    sj["notes"] = s.notes;
    sj["tables"] = nlohmann::json::array();
    for (const auto& t : s.tables) sj["tables"].push_back(TableJson(t));
    j["sets"].push_back(std::move(sj));
  }
  if (report.objects) {
    const ObjectsResult& o = *report.objects;
    nlohmann::json oj = {{"sequences", o.sequences}, {"final", o.final}, {"equal", o.Equal()},
                         {"differences", nlohmann::json::array()}};
    oj["large_objects"] = o.large_objects_compared ? nlohmann::json(o.large_objects) : nlohmann::json();
    for (const auto& d : o.differences) {
      oj["differences"].push_back({{"kind", d.kind}, {"name", d.name}, {"details", d.details}});
    }
    j["objects"] = std::move(oj);
  }
  return j;
}

namespace {

void PrintTable(std::ostream& out, const TableResult& t) {
  std::string status = t.Equal() ? "equal" : (t.repair_ran ? "DIFFERENT (after repair)" : "DIFFERENT");
  if (t.repair_ran && t.Equal()) status = "repaired";
  out << fmt::format("  {:<40} {:>12} {:>12} {:>11} {:>8.1f}  {}\n", t.table.Display(), t.source_rows,
                           t.target_rows, t.mismatches.size(), t.seconds, status);
  if (!t.problem.empty()) out << "      " << t.problem << "\n";
  if (t.key_columns.empty() && t.problem.empty()) out << "      (no key: compared as a multiset of rows)\n";
  for (size_t i = 0; i < t.mismatches.size() && i < kPrintedDifferences; ++i) {
    const auto& m = t.mismatches[i];
    out << fmt::format("      {:<14} {}  {}\n", MismatchKindName(m.kind), t.KeyText(m), m.details);
  }
  if (t.mismatches.size() > kPrintedDifferences) {
    out << "      ... and " << t.mismatches.size() - kPrintedDifferences << " more (all in --json and in the "
              << "control schema's validation_failures)\n";
  }
  if (t.truncated) out << "      more differences than --max-differences: only the first ones are listed\n";
  if (t.repair_ran) {
    out << "      repair: " << t.repaired << " target row(s) rewritten; " << t.remaining.size()
              << " difference(s) remain\n";
    for (const auto& m : t.remaining) out << "      REMAINS " << MismatchKindName(m.kind) << " " << t.KeyText(m) << "\n";
  }
}

}  // namespace

void PrintReport(std::ostream& out, const Report& report, const std::string& control_schema) {
  size_t differences = 0, unequal = 0, tables = 0;
  for (const auto& s : report.sets) {
    out << "set " << s.set_name << ": source snapshot at " << s.snapshot_lsn.ToString();
    if (s.applied_lsn) {
      out << ", compared after CDC applied through " << s.applied_lsn->ToString();
      if (s.recheck_lsn) out << "; differing rows re-checked at " << s.recheck_lsn->ToString();
    } else {
      out << " (no CDC checkpoint for this set: the target as it is now)";
    }
    out << "\n";
    for (const auto& note : s.notes) out << "  note: " << note << "\n";
    out << fmt::format("  {:<40} {:>12} {:>12} {:>11} {:>8}  {}\n", "table", "source rows", "target rows",
                             "differences", "seconds", "result");
    for (const auto& t : s.tables) {
      PrintTable(out, t);
      ++tables;
      differences += t.mismatches.size() + (t.problem.empty() ? 0 : 1);
      if (!t.Equal()) ++unequal;
    }
  }
  if (report.objects) {
    const ObjectsResult& o = *report.objects;
    out << "sequences: " << o.sequences << " compared";
    if (o.large_objects_compared) out << "; large objects: " << o.large_objects << " on the source";
    out << (o.differences.empty() ? ", equal\n"
            : o.final            ? ", DIFFERENT\n"
                                 : " (CDC carries neither: walferry cutover sets them once writes stopped; until then "
                                   "these are expected)\n");
    for (size_t i = 0; i < o.differences.size() && i < kPrintedDifferences; ++i) {
      out << fmt::format("      {:<16} {}  {}\n", o.differences[i].kind, o.differences[i].name, o.differences[i].details);
    }
    if (o.differences.size() > kPrintedDifferences) {
      out << "      ... and " << o.differences.size() - kPrintedDifferences << " more (all in --json)\n";
    }
    if (o.final) differences += o.differences.size();
  }
  out << fmt::format("{}: {} table(s) compared in {:.1f} s, {} difference(s) found", report.Equal() ? "EQUAL" : "DIFFERENT",
                           tables, report.seconds, differences);
  if (differences > 0) out << " (stored in " << control_schema << ".validation_failures)";
  if (unequal > 0) out << "; " << unequal << " table(s) differ";
  out << "\n";
}

}  // namespace walferry::validate
