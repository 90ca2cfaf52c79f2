#include "load/schema.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "common/cancel.h"
#include "common/error.h"
#include "common/log.h"
#include "common/process.h"
#include "control/truncate_capture.h"
#include "pg/conninfo.h"
#include "load/client_tools.h"
#include "load/restore_list.h"
#include "load/table_groups.h"
#include "pg/connection.h"
#include "sql/sql.h"

namespace walferry::load {

namespace {

auto Log() { return log::For("load"); }

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw Error(ErrorKind::kIo, "cannot write " + p.string());
}

// Runs a tool with `env` (e.g. PGPASSWORD) in its environment; on failure throws Error(kIo) with its output.
// Connection strings reach tools without their password (pg::ForChildProcess), so the output holds none.
std::string RunTool(const std::vector<std::string>& argv, const std::string& doing,
                    const std::vector<std::string>& env = {}) {
  ProcessOptions options;
  options.env = env;
  options.stop = &CancelFlag();  // Ctrl-C stops the tool (and what it started) at once
  ProcessResult r = RunProcess(argv, options);
  if (r.exit_code != 0) {
    throw Error(ErrorKind::kIo, doing + ": " + argv[0] + " exited with code " + std::to_string(r.exit_code) + ":\n" +
                                    r.output);
  }
  return r.output;
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Entries that belong to tables (created by CopyTables) or to views (which need the tables, and are not ours to
// migrate here) are left out of the support objects.
bool IsSupportObject(const TocEntry& e, const std::set<uint32_t>& owned_sequences) {
  for (const char* desc : {"TABLE ", "VIEW ", "MATERIALIZED VIEW ", "FOREIGN TABLE ", "DEFAULT ",
                           "SEQUENCE OWNED BY ", "RULE ", "POLICY "}) {
    if (StartsWith(e.rest, desc)) return false;
  }
  if (StartsWith(e.rest, "SEQUENCE ")) return owned_sequences.count(e.objid) == 0;
  if (StartsWith(e.rest, "COMMENT ")) {
    for (const char* on : {" TABLE ", " VIEW ", " COLUMN ", " MATERIALIZED VIEW ", " SEQUENCE ", " FOREIGN TABLE "}) {
      if (e.rest.find(on) != std::string::npos) return false;
    }
  }
  return true;
}

// A TRIGGER entry's tag is "<table> <trigger>": walferry's trigger is the one named kTruncateTrigger.
bool IsCaptureTrigger(const TocEntry& e) {
  return StartsWith(e.rest, "TRIGGER ") &&
         e.rest.find(" " + std::string(control::kTruncateTrigger) + " ") != std::string::npos;
}

// Whether the error that stopped a psql script says the object exists already: duplicate_object, duplicate_schema,
// duplicate_function or duplicate_table, by SQLSTATE (the message text follows the target's lc_messages).
bool IsAlreadyExists(const std::string& psql_output) {
  std::optional<std::string> code = StoppingSqlState(psql_output);
  return code && (*code == "42710" || *code == "42P06" || *code == "42723" || *code == "42P07");
}

// pg_dump -t patterns for exactly these tables, a few names per pattern (load/restore_list.h: one query each).
std::vector<std::string> Patterns(const std::vector<pg::TableName>& tables) {
  std::vector<std::pair<std::string, std::string>> names;
  for (const auto& t : tables) names.emplace_back(t.schema, t.name);
  return DumpTablePatterns(names);
}

// Every object a resumed post-data step must not create again is named here, with the reason.
std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "  " + l + "\n";
  return out;
}

}  // namespace

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "walferry-load-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw Error(ErrorKind::kIo, "cannot create a temporary directory");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

SchemaCopier::SchemaCopier(std::string source_conninfo, std::string target_conninfo, std::string control_schema)
    : source_conninfo_(source_conninfo), target_conninfo_(target_conninfo),
      source_(pg::ForChildProcess(source_conninfo)), target_(pg::ForChildProcess(target_conninfo)),
      control_schema_(std::move(control_schema)),
      source_major_(pg::Connection::Open(source_conninfo, {.role = "source"}).ServerVersionNum() / 10000) {}

std::string SchemaCopier::Program(const std::string& name) const { return FindClientProgram(name, source_major_); }

std::vector<std::string> SchemaCopier::DumpArgs(const std::string& section) const {
  return {Program("pg_dump"), "--schema-only",   "--section=" + section, "--no-owner",
          "--no-privileges",    "--no-publications", "--no-subscriptions",   "--no-security-labels",
          "-N",                 pg::QuoteIdent(control_schema_), "-d", source_.conninfo};
}

std::pair<int, std::string> SchemaCopier::Psql(const std::string& script, bool single_transaction,
                                               const std::string& file_name) const {
  std::filesystem::path file = tmp_.path() / file_name;
  WriteFile(file, script);
  std::vector<std::string> argv = {Program("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose",
                                   "-d", target_.conninfo, "-f", file.string()};
  if (single_transaction) argv.push_back("--single-transaction");
  ProcessOptions options;
  options.env = target_.env;
  options.stop = &CancelFlag();
  ProcessResult r = RunProcess(argv, options);
  return {r.exit_code, r.output};
}

void SchemaCopier::CopySupportObjects(const std::vector<uint32_t>& owned_sequence_oids) {
  WithContext("creating schemas, types and functions on the target", [&] {
    std::filesystem::path dump = tmp_.path() / "pre-data.dump";
    std::vector<std::string> argv = DumpArgs("pre-data");
    argv.insert(argv.end(), {"-Fc", "-f", dump.string()});
    RunTool(argv, "dumping the source's pre-data schema", source_.env);
    std::string listing = RunTool({Program("pg_restore"), "-l", dump.string()}, "listing the dump");
    std::set<uint32_t> owned(owned_sequence_oids.begin(), owned_sequence_oids.end());
    std::vector<TocEntry> entries;
    for (auto& e : ParseToc(listing)) {
      if (IsSupportObject(e, owned)) entries.push_back(std::move(e));
    }
    if (entries.empty()) return;
    auto script_of = [&](const std::vector<const TocEntry*>& list) {
      std::string text;
      for (const auto* e : list) text += e->line + "\n";
      WriteFile(tmp_.path() / "entries.list", text);
      std::filesystem::path out = tmp_.path() / "entries.sql";
      RunTool({Program("pg_restore"), "-L", (tmp_.path() / "entries.list").string(), "-f", out.string(),
               dump.string()},
              "extracting schema objects", {});
      return ReadFile(out);
    };
    std::vector<const TocEntry*> all;
    for (const auto& e : entries) all.push_back(&e);
    auto [rc, out] = Psql(script_of(all), true);
    if (rc == 0) {
      Log()->info("created {} schema objects (schemas, types, functions, ...) on the target", entries.size());
      return;
    }
    if (!IsAlreadyExists(out)) throw Error(ErrorKind::kSql, "creating schema objects on the target failed:\n" + out);
    // Some exist already (a schema the DBA created, an earlier load): one object at a time, keeping those.
    for (const auto* e : all) {
      auto [rc1, out1] = Psql(script_of({e}), true);
      if (rc1 == 0) continue;
      if (!IsAlreadyExists(out1)) {
        throw Error(ErrorKind::kSql, "creating " + e->rest + " on the target failed:\n" + out1);
      }
      Log()->info("kept {} (already on the target; the copy fails loudly if it does not match the source)", e->rest);
    }
  });
}

std::vector<std::pair<pg::TableName, pg::TableName>> SchemaCopier::TableLinks(
    const std::vector<pg::TableName>& tables) const {
  std::vector<std::string> schemas, names;
  for (const auto& t : tables) {
    schemas.push_back(t.schema);
    names.push_back(t.name);
  }
  pg::Connection source = pg::Connection::Open(source_conninfo_, {.role = "source"});
  pg::Result r =
      source.Exec(sql::Get("load/table_links"), {pg::Param(pg::TextArray(schemas)), pg::Param(pg::TextArray(names))});
  std::vector<std::pair<pg::TableName, pg::TableName>> links;
  for (int i = 0; i < r.rows(); ++i) {
    links.push_back({{std::string(r.Get(i, 0)), std::string(r.Get(i, 1))},
                     {std::string(r.Get(i, 2)), std::string(r.Get(i, 3))}});
  }
  return links;
}

void SchemaCopier::CreateGroup(const std::vector<pg::TableName>& tables, size_t group, size_t per_transaction) const {
  const std::string base = "tables-" + std::to_string(group);
  const std::filesystem::path archive = tmp_.path() / (base + ".dump");
  std::vector<std::string> argv = DumpArgs("pre-data");
  argv.insert(argv.end(), {"-Fc", "-Z0", "-f", archive.string()});
  // Quoted names match exactly: inside double quotes pg_dump treats * ? . | as ordinary characters.
  for (const auto& p : Patterns(tables)) argv.insert(argv.end(), {"-t", p});
  RunTool(argv, "dumping the tables' definitions", source_.env);
  const std::vector<std::vector<TocEntry>> parts =
      SplitByTables(ParseToc(RunTool({Program("pg_restore"), "-l", archive.string()}, "listing the tables' dump")),
                    per_transaction);
  size_t created = 0;
  for (size_t k = 0; k < parts.size(); ++k) {
    const std::string name = base + "-" + std::to_string(k);
    std::string list;
    size_t in_part = 0;
    for (const TocEntry& e : parts[k]) {
      list += e.line + "\n";
      if (IsTableEntry(e)) ++in_part;
    }
    WriteFile(tmp_.path() / (name + ".list"), list);
    const std::filesystem::path script = tmp_.path() / (name + ".sql");
    RunTool({Program("pg_restore"), "-L", (tmp_.path() / (name + ".list")).string(), "-f", script.string(),
             archive.string()},
            "extracting the tables' definitions", {});
    auto [rc, out] = Psql(ReadFile(script), true, "run-" + name + ".sql");
    if (rc != 0) {
      throw Error(ErrorKind::kSql, "creating " + std::to_string(in_part) + " tables on the target failed (none of "
                                   "them was created; " + std::to_string(created) + " others of their group and "
                                   "other groups of tables may have been):\n" + out)
          .WithHint("fix the cause psql names, then run walferry load --resume: it creates the missing tables and "
                    "empties the others");
    }
    created += in_part;
  }
}

size_t SchemaCopier::CopyTables(const std::vector<pg::TableName>& tables, int jobs) {
  if (tables.empty()) return 0;
  return WithContext("creating " + std::to_string(tables.size()) + " tables on the target", [&] {
    std::vector<std::vector<pg::TableName>> groups = CreationGroups(tables, TableLinks(tables), jobs);
    pg::Connection target = pg::Connection::Open(target_conninfo_, {.role = "target"});
    const size_t per_transaction =
        TablesPerTransaction(target.Exec(sql::Get("load/lock_capacity")).GetInt(0, 0), groups.size());
    std::vector<std::exception_ptr> errors(groups.size());
    {
      std::vector<std::jthread> threads;
      for (size_t g = 0; g < groups.size(); ++g) {
        threads.emplace_back([&, g] {
          try {
            CreateGroup(groups[g], g, per_transaction);
          } catch (...) {
            errors[g] = std::current_exception();
          }
        });
      }
    }
    for (const std::exception_ptr& e : errors) {
      if (e) std::rethrow_exception(e);
    }
    return groups.size();
  });
}

std::vector<TocEntry> SchemaCopier::NotOnTarget(const std::vector<pg::TableName>& tables,
                                                std::vector<TocEntry> toc) const {
  std::vector<std::string> schemas, names;
  for (const auto& t : tables) {
    schemas.push_back(t.schema);
    names.push_back(t.name);
  }
  auto read = [&](const std::string& conninfo, const char* role) {
    pg::Connection c = pg::Connection::Open(conninfo, {.role = role});
    c.Exec("SET search_path = pg_catalog");  // definitions name every object with its schema, on both servers
    return c.Exec(sql::Get("load/post_data_objects"), {pg::Param(pg::TextArray(schemas)), pg::Param(pg::TextArray(names))});
  };
  auto object = [](const pg::Result& r, int row) {
    return CatalogObject{std::string(r.Get(row, 2)), std::string(r.Get(row, 3)), std::string(r.Get(row, 4))};
  };
  SourceObjects source;
  pg::Result s = read(source_conninfo_, "source");
  for (int i = 0; i < s.rows(); ++i) {
    source[{static_cast<uint32_t>(s.GetInt(i, 0)), static_cast<uint32_t>(s.GetInt(i, 1))}] = object(s, i);
  }
  TargetObjects target;
  pg::Result t = read(target_conninfo_, "target");
  for (int i = 0; i < t.rows(); ++i) {
    CatalogObject o = object(t, i);
    target[o.Address()] = o.definition;
  }
  ResumedPostData plan = PlanResumedPostData(toc, source, target);
  if (!plan.conflicts.empty()) {
    throw Error(ErrorKind::kPrecondition, "the target has indexes, constraints or triggers under the source's names "
                                          "but with other definitions:\n" + JoinLines(plan.conflicts))
        .WithHint("drop or rename them on the target, then run walferry load --resume again");
  }
  if (!plan.kept.empty()) {
    Log()->info("kept {} indexes, constraints and triggers the interrupted load had created", plan.kept.size());
    for (const auto& address : plan.kept) Log()->debug("kept {}", address);
  }
  return std::move(plan.restore);
}

void SchemaCopier::CopyPostData(const std::vector<pg::TableName>& tables, int jobs, bool resuming) {
  if (tables.empty()) return;
  PostDataPlan plan = PreparePostData(tables, resuming);
  RestorePostData(plan, plan.entries, jobs, "all");
}

PostDataPlan SchemaCopier::PreparePostData(const std::vector<pg::TableName>& tables, bool resuming) {
  PostDataPlan plan = DumpPostData(tables);
  if (resuming) LeaveOutWhatTargetHas(tables, plan);
  return plan;
}

PostDataPlan SchemaCopier::DumpPostData(const std::vector<pg::TableName>& tables) const {
  PostDataPlan plan;
  if (tables.empty()) return plan;
  WithContext("dumping the indexes, constraints and triggers of " + std::to_string(tables.size()) + " tables", [&] {
    plan.dump = tmp_.path() / "post-data.dump";
    std::vector<std::string> argv = DumpArgs("post-data");
    argv.insert(argv.end(), {"-Fc", "-f", plan.dump.string()});
    for (const auto& p : Patterns(tables)) argv.insert(argv.end(), {"-t", p});
    RunTool(argv, "dumping indexes and constraints", source_.env);
    // walferry's own partition TRUNCATE triggers (control/truncate_capture.h) stay on the source.
    std::string listing = RunTool({Program("pg_restore"), "-l", plan.dump.string()}, "listing the dump");
    for (TocEntry& e : ParseToc(listing)) {
      if (!IsCaptureTrigger(e)) plan.entries.push_back(std::move(e));
    }
    plan.early = EarlyByTable(tables, plan.entries);
  });
  return plan;
}

void SchemaCopier::LeaveOutWhatTargetHas(const std::vector<pg::TableName>& tables, PostDataPlan& plan) const {
  // What the interrupted run created is left out by the catalogs, never by error messages, so every error
  // pg_restore reports later is real.
  plan.entries = NotOnTarget(tables, std::move(plan.entries));
  std::set<std::string> left;
  for (const TocEntry& e : plan.entries) left.insert(e.line);
  for (auto it = plan.early.begin(); it != plan.early.end();) {
    std::erase_if(it->second, [&](const TocEntry& e) { return left.count(e.line) == 0; });
    it = it->second.empty() ? plan.early.erase(it) : std::next(it);
  }
}

std::map<pg::TableName, std::vector<TocEntry>> SchemaCopier::EarlyByTable(const std::vector<pg::TableName>& tables,
                                                                          const std::vector<TocEntry>& entries) const {
  std::vector<std::string> schemas, names;
  for (const auto& t : tables) {
    schemas.push_back(t.schema);
    names.push_back(t.name);
  }
  pg::Connection source = pg::Connection::Open(source_conninfo_, {.role = "source"});
  pg::Result r = source.Exec(sql::Get("load/post_data_early"),
                             {pg::Param(pg::TextArray(schemas)), pg::Param(pg::TextArray(names))});
  std::map<std::pair<uint32_t, uint32_t>, std::string> owners;
  std::map<std::string, pg::TableName> by_key;
  for (int i = 0; i < r.rows(); ++i) {
    pg::TableName table{std::string(r.Get(i, 2)), std::string(r.Get(i, 3))};
    owners[{static_cast<uint32_t>(r.GetInt(i, 0)), static_cast<uint32_t>(r.GetInt(i, 1))}] = table.Quoted();
    by_key[table.Quoted()] = table;
  }
  std::map<pg::TableName, std::vector<TocEntry>> out;
  for (auto& [key, list] : EarlyEntries(entries, owners)) out[by_key.at(key)] = std::move(list);
  return out;
}

void SchemaCopier::RestorePostData(const PostDataPlan& plan, const std::vector<TocEntry>& entries, int jobs,
                                   const std::string& tag) const {
  if (entries.empty()) return;
  WithContext("creating indexes, constraints and triggers on the target", [&] {
    std::string kept;
    for (const TocEntry& e : entries) kept += e.line + "\n";
    std::filesystem::path list = tmp_.path() / ("post-data-" + tag + ".list");
    WriteFile(list, kept);
    // Each object commits on its own; none of those commits waits for its WAL flush. The load state that follows
    // ("loaded") is a synchronous commit, whose flush covers them all; an object lost with an unflushed commit in
    // a target crash is created again by --resume (the set is still "indexing", or "loading").
    std::vector<std::string> env = target_.env;
    std::string options = "PGOPTIONS=";
    if (const char* v = std::getenv("PGOPTIONS")) options += v;
    options += " -c synchronous_commit=off";
    env.push_back(std::move(options));
    RunTool({Program("pg_restore"), "--section=post-data", "--no-owner", "--no-privileges", "--exit-on-error", "-j",
             std::to_string(std::max(1, jobs)), "-L", list.string(), "-d", target_.conninfo, plan.dump.string()},
            "creating indexes, constraints and triggers", env);
  });
}

}  // namespace walferry::load
