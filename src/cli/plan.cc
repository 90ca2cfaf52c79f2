// cli/plan.cc: `walferry plan` runs the assessment and writes walferry.yaml: the selected tables balanced into N
// replication sets by write rate (or the sets of DMS mapping files / pglogical), apply modes, LOB settings.
// Read-only on every server; writes only the files it is asked to (never over an existing one without --force).
// Exit 0 on success, 2 on bad input or a source that fails preflight, 1 on runtime failure. See docs/plan.md.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "assess/report.h"
#include "cli/assess_flags.h"
#include "cli/command.h"
#include "common/log.h"
#include "load/client_tools.h"
#include "pg/conninfo.h"
#include "plan/dms_mapping.h"
#include "plan/migration_id.h"
#include "plan/pglogical_sets.h"
#include "plan/from_assessment.h"
#include "plan/from_assessment.h"
#include "plan/set_planner.h"

namespace walferry::cli {
namespace {

namespace fs = std::filesystem;
using Groups = std::vector<std::pair<std::string, std::vector<plan::TableStats>>>;

// Written with mode 0600: it names servers and roles, and nobody else needs to read it.
void WriteFileAtomically(const fs::path& path, const std::string& text) {
  fs::path tmp = path;
  tmp += ".tmp";
  {
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw Error(ErrorKind::kIo, "cannot create " + tmp.string() + ": " + std::strerror(errno));
    ::fchmod(fd, 0600);  // an old .tmp file keeps its mode through O_TRUNC
    size_t done = 0;
    while (done < text.size()) {
      ssize_t n = ::write(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(fd);
        throw Error(ErrorKind::kIo, "cannot write " + tmp.string() + ": " + std::strerror(errno));
      }
      done += static_cast<size_t>(n);
    }
    if (::close(fd) != 0) throw Error(ErrorKind::kIo, "cannot write " + tmp.string() + ": " + std::strerror(errno));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw Error(ErrorKind::kIo, "cannot rename " + tmp.string() + " to " + path.string() + ": " + ec.message());
}

void RefuseOverwrite(const fs::path& path, bool force) {
  if (!force && fs::exists(path)) {
    throw Error(ErrorKind::kConfig, path.string() + " already exists; walferry plan does not overwrite it")
        .WithHint("pass --force to replace it, or choose another file with --out");
  }
}

// One group per DMS mapping file: the carried tables its rules select, with its LOB settings.
Groups GroupsFromDms(const std::vector<std::string>& files, const std::vector<plan::TableStats>& carried) {
  Groups groups;
  for (const auto& file : files) {
    plan::DmsImport imp = plan::LoadDmsMapping(file);
    for (const auto& note : imp.notes) log::For("plan")->warn("{}: {}", file, note);
    std::vector<plan::TableStats> tables;
    for (const auto& rule : imp.rules) {
      if (!rule.include) continue;
      bool any = std::any_of(carried.begin(), carried.end(), [&](const auto& t) {
        return config::WildcardMatch(rule.schema_pattern, t.name.schema) &&
               config::WildcardMatch(rule.table_pattern, t.name.name);
      });
      if (!any) {
        throw Error(ErrorKind::kConfig, file + ": rule for " + pg::TableName{rule.schema_pattern, rule.table_pattern}.Display() +
                                            " selects no table walferry carries on the source")
            .WithHint("check the names (case matters) and that the table is permanent and selected");
      }
    }
    for (const auto& t : carried) {
      if (config::Selected(imp.rules, t.name)) tables.push_back(t);
    }
    for (const auto& lob : imp.lob) {
      auto it = std::find_if(tables.begin(), tables.end(), [&](const auto& t) { return t.name == lob.table; });
      if (it == tables.end()) {
        throw Error(ErrorKind::kConfig, file + ": lob-settings for unknown or unselected table " + lob.table.Display());
      }
      it->lob = lob.lob;
      it->lob_reason = "from " + fs::path(file).filename().string();
    }
    groups.emplace_back(plan::SetNameFrom(fs::path(file).stem().string()), std::move(tables));
  }
  return groups;
}

Groups GroupsFromPglogical(pg::Connection& source, const std::vector<plan::TableStats>& carried) {
  Groups groups;
  for (const auto& set : plan::ReadPglogicalSets(source)) {
    std::vector<plan::TableStats> tables;
    for (const auto& name : set.tables) {
      auto it = std::find_if(carried.begin(), carried.end(), [&](const auto& t) { return t.name == name; });
      if (it == carried.end()) {
        log::For("plan")->warn("pglogical set {}: table {} is not selected or cannot be carried; left out", set.name,
                               name.Display());
        continue;
      }
      tables.push_back(*it);
    }
    if (tables.empty()) continue;
    groups.emplace_back(plan::SetNameFrom(set.name), std::move(tables));
  }
  if (groups.empty()) throw Error(ErrorKind::kConfig, "--from-pglogical: no pglogical replication set holds a selected table");
  return groups;
}

// The selected tables that no given set covers (pglogical sets, DMS mapping files) are NOT migrated: said in the
// plan's notes (printed and in --json) and in the log, never left out silently.
void NoteUncovered(const Groups& groups, const std::vector<plan::TableStats>& carried, const std::string& source,
                   plan::SetPlan& p) {
  std::set<pg::TableName> covered;
  for (const auto& [name, tables] : groups) {
    for (const auto& t : tables) covered.insert(t.name);
  }
  std::string list;
  int count = 0;
  for (const auto& t : carried) {
    if (covered.contains(t.name)) continue;
    list += (list.empty() ? "" : ", ") + t.name.Display();
    ++count;
  }
  if (count == 0) return;
  std::string note = std::to_string(count) + " selected table(s) are in no " + source + " and are NOT migrated: " +
                     list + " (add them to a set, or leave them out explicitly with --exclude to confirm)";
  log::For("plan")->warn("{}", note);
  p.notes.push_back(note);
}

// Names unique and every table in one set only: errors a person can fix in the inputs (exit 2).
void CheckGroups(const Groups& groups) {
  std::map<std::string, int> names;
  std::map<pg::TableName, std::string> owner;
  for (const auto& [name, tables] : groups) {
    if (++names[name] > 1) throw Error(ErrorKind::kConfig, "two replication sets would both be named '" + name + "'");
    for (const auto& t : tables) {
      auto [it, fresh] = owner.emplace(t.name, name);
      if (!fresh) {
        throw Error(ErrorKind::kConfig, "table " + t.name.Display() + " is in both set '" + it->second + "' and set '" +
                                            name + "'; a table can belong to one set only");
      }
    }
  }
}

nlohmann::json PlanJson(const plan::SetPlan& p, const std::string& out) {
  nlohmann::json j{{"version", 1}, {"out", out}, {"imbalance", p.imbalance}, {"sets", nlohmann::json::array()}};
  for (const auto& s : p.sets) {
    nlohmann::json set{{"name", s.config.name}, {"apply", config::ApplyModeName(s.config.apply)},
                       {"write_rate", s.write_rate}, {"total_bytes", s.total_bytes}, {"tables", nlohmann::json::array()}};
    for (size_t i = 0; i < s.tables.size(); ++i) {
      const auto& tc = s.config.tables[i];
      set["tables"].push_back({{"name", tc.name.Display()},
                               {"apply", config::ApplyModeName(tc.apply.value_or(s.config.apply))},
                               {"write_rate", s.tables[i].write_rate},
                               {"total_bytes", s.tables[i].total_bytes},
                               {"lob_max_kb", tc.lob.max_kb ? nlohmann::json(*tc.lob.max_kb) : nullptr},
                               {"reason", tc.reason}});
    }
    j["sets"].push_back(set);
  }
  j["notes"] = p.notes;
  return j;
}

class PlanCommand : public Command {
 public:
  std::string Name() const override { return "plan"; }
  std::string Description() const override {
    return "Assess the source and write walferry.yaml: tables balanced into replication sets, apply modes, LOB limits";
  }
  void Setup(CLI::App& app) override {
    conn_.Add(app, true, true);
    flags_.Add(app);
    app.add_option("--sets", sets_, "Number of replication sets (slots) to balance the tables into")
        ->check(CLI::Range(1, 1000));
    app.add_option("--out", out_, "The walferry.yaml to write (default walferry.yaml)");
    app.add_flag("--force", force_, "Overwrite existing output files");
    app.add_option("--from-dms-mapping", dms_in_, "AWS DMS table-mapping JSON; each file becomes one set")
        ->check(CLI::ExistingFile);
    app.add_option("--dms-mapping-out", dms_out_, "Write one DMS table-mapping JSON per set into this directory");
    app.add_flag("--from-pglogical", from_pglogical_, "Make the source's pglogical replication sets walferry sets");
  }
  void ApplyFlags(Context& ctx) override { conn_.Apply(ctx, true, false); }

  int Run(Context& ctx) override {
    int sources = (sets_ > 0) + !dms_in_.empty() + from_pglogical_;
    if (sources != 1) {
      throw Error(ErrorKind::kUsage, "plan needs exactly one of --sets N, --from-dms-mapping FILE, --from-pglogical");
    }
    RefuseOverwrite(out_, force_);
    assess::AssessOptions options = flags_.Options(ctx);
    options.sets_needed = sets_ > 0 ? sets_ : 1;
    options.sets_counted = sets_ > 0;
    if (!dms_in_.empty()) {
      options.sets_needed = static_cast<int>(dms_in_.size());
      options.sets_counted = true;
    }
    for (const auto& f : dms_in_) (void)plan::LoadDmsMapping(f);  // malformed files fail before connecting
    pg::Connection source = pg::Connection::Open(ctx.config.source, {.role = "source"});
    assess::Assessment a = assess::Assess(source, options);
    RequireNoFail(a);
    std::vector<plan::TableStats> carried;
    for (const auto* t : a.Selected()) carried.push_back(plan::StatsFrom(*t));
    plan::SetPlan p;
    if (sets_ > 0) {
      p = plan::PlanSets(carried, sets_);
    } else {
      Groups groups = from_pglogical_ ? GroupsFromPglogical(source, carried) : GroupsFromDms(dms_in_, carried);
      CheckGroups(groups);
      p = plan::PlanGivenSets(groups);
      NoteUncovered(groups, carried, from_pglogical_ ? "pglogical replication set" : "DMS mapping file", p);
    }
    NoteMissingPgDump(source, p);
    for (const auto& s : p.sets) {
      if (s.config.apply != config::ApplyMode::kBatch) continue;
      // Say what `apply: batch` means for the run (docs/cdc.md "Batch apply").
      p.notes.push_back("apply: batch is written for the sets without a table that needs source order; walferry "
                        "cdc applies their tables set-based in batches of whole source transactions (one target "
                        "transaction per batch), and the tables marked transactional per change in source order");
      break;
    }
    config::Config cfg = ctx.config;
    cfg.rules = options.rules;
    cfg.sets = p.Configs();
    // Kept when planning again over a configuration that has one: it names slots that may exist already.
    if (cfg.migration_id.empty()) cfg.migration_id = plan::NewMigrationId();
    // Never a password in a file: walferry.yaml gets the connections without their secrets.
    std::vector<std::string> left_out;
    for (std::string* conninfo : {&cfg.source, &cfg.target}) {
      std::vector<std::string> removed;
      if (!conninfo->empty()) *conninfo = pg::WithoutSecrets(*conninfo, &removed);
      left_out.insert(left_out.end(), removed.begin(), removed.end());
    }
    WriteOutputs(cfg, p);
    if (!left_out.empty()) {
      log::For("plan")->warn("{} was left out of {}: give it with PGPASSWORD, ~/.pgpass or PGSERVICE (or the whole "
                             "connection in WALFERRY_SOURCE / WALFERRY_TARGET) when running walferry",
                             left_out.front(), out_);
    }
    if (ctx.global.json) {
      std::cout << PlanJson(p, out_).dump(2) << "\n";
    } else {
      std::cout << plan::ExplainPlan(p) << "wrote " << out_ << "\n"
                << "next: review it, then walferry load -c " << out_ << " (or walferry migrate -c " << out_ << ")\n";
    }
    return kExitOk;
  }

 private:
  // walferry load runs pg_dump of the source's version or newer (load/client_tools.h); said at plan time, as a note:
  // the plan is right either way, and a load by other means (--cdc-start-lsn) needs no pg_dump.
  static void NoteMissingPgDump(pg::Connection& source, plan::SetPlan& p) {
    const int major = source.ServerVersionNum() / 10000;
    try {
      (void)load::FindClientProgram("pg_dump", major);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kPrecondition) throw;
      p.notes.push_back("walferry load needs pg_dump of PostgreSQL " + std::to_string(major) + " or newer, and this "
                        "machine has none (" + e.message() + "): " + e.hint() + "; or load the target by other "
                        "means and run walferry load --cdc-start-lsn (docs/versions.md)");
    }
  }

  static void RequireNoFail(const assess::Assessment& a) {
    std::string failed;
    for (const auto& c : a.preflight) {
      if (c.status != assess::CheckStatus::kFail) continue;
      failed += "\n  FAIL " + c.name + ": " + c.detail + "\n       fix: " + c.fix;
    }
    if (!failed.empty()) {
      throw Error(ErrorKind::kPrecondition, "the source is not ready for a migration:" + failed)
          .WithHint("fix the failing checks (walferry assess shows them all), then run plan again");
    }
  }

  void WriteOutputs(const config::Config& cfg, const plan::SetPlan& p) const {
    std::string yaml = config::ToYaml(cfg);
    (void)config::Parse(yaml, out_);  // what we write must read back; a failure here is a walferry bug
    std::vector<std::pair<fs::path, std::string>> files;
    if (!dms_out_.empty()) {
      std::error_code ec;
      fs::create_directories(dms_out_, ec);
      if (ec) throw Error(ErrorKind::kIo, "cannot create directory " + dms_out_ + ": " + ec.message());
      for (const auto& s : p.sets) {
        fs::path f = fs::path(dms_out_) / (s.config.name + ".json");
        RefuseOverwrite(f, force_);
        files.emplace_back(f, plan::ExportDmsMapping(s.config));
      }
    }
    files.emplace_back(out_, yaml);
    for (const auto& [path, text] : files) WriteFileAtomically(path, text);
  }

  ConnectionFlags conn_;
  AssessFlags flags_;
  int sets_ = 0;
  std::string out_ = "walferry.yaml";
  bool force_ = false;
  std::vector<std::string> dms_in_;
  std::string dms_out_;
  bool from_pglogical_ = false;
};

WALFERRY_REGISTER_COMMAND(PlanCommand);

}  // namespace
}  // namespace walferry::cli
