#include "assess/preflight.h"

#include <nlohmann/json.hpp>

#include "pg/server_version.h"
#include "sql/sql.h"

namespace walferry::assess {

namespace {

using S = CheckStatus;

struct Facts {
  pg::Result r;
  std::string Text(const char* col) const { return std::string(r.Get(0, r.Column(col))); }
  int64_t Int(const char* col) const { return r.GetInt(0, r.Column(col)); }
  bool Bool(const char* col) const { return r.GetBool(0, r.Column(col)); }
};

std::string Trim(std::string s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '"')) s.erase(s.begin());
  while (!s.empty() && (s.back() == ' ' || s.back() == '"')) s.pop_back();
  return s;
}

void CheckWal(const Facts& f, const AssessOptions& o, std::vector<PreflightCheck>& out) {
  std::string wal = f.Text("wal_level");
  if (wal == "logical") {
    out.push_back({"wal_level", S::kPass, "wal_level is logical", ""});
  } else {
    out.push_back({"wal_level", S::kFail, "wal_level is '" + wal + "'",
                   "ALTER SYSTEM SET wal_level = logical; then restart the source"});
  }
  // One slot and one WAL sender per replication set; without a set count (assess on its own) at least one.
  const std::string needs = o.sets_counted ? std::to_string(o.sets_needed) + " (one per replication set)"
                                           : "one per replication set: at least " + std::to_string(o.sets_needed) +
                                                 " (plan --sets N needs N)";
  int64_t free_slots = f.Int("max_replication_slots") - f.Int("slots_used");
  std::string slots = std::to_string(free_slots) + " of " + std::to_string(f.Int("max_replication_slots")) +
                      " replication slots free; the migration needs " + needs;
  out.push_back({"replication_slots", free_slots >= o.sets_needed ? S::kPass : S::kFail, slots,
                 free_slots >= o.sets_needed ? "" : "raise max_replication_slots (restart) or drop unused slots"});
  int64_t free_senders = f.Int("max_wal_senders") - f.Int("wal_senders_used");
  std::string senders = std::to_string(free_senders) + " of " + std::to_string(f.Int("max_wal_senders")) +
                        " WAL senders free; the migration needs " + needs;
  out.push_back({"wal_senders", free_senders >= o.sets_needed ? S::kPass : S::kFail, senders,
                 free_senders >= o.sets_needed ? "" : "raise max_wal_senders (restart the source)"});
  const pg::ServerFeatures v = pg::FeaturesOf(static_cast<int>(f.Int("server_version_num")), "source");
  std::string keep = v.max_slot_wal_keep_size ? f.Text("max_slot_wal_keep_size") : "";
  if (!v.max_slot_wal_keep_size) {
    out.push_back({"max_slot_wal_keep_size", S::kWarn,
                   "PostgreSQL " + std::to_string(v.major) + " has no max_slot_wal_keep_size (13+): a slot that falls "
                   "behind keeps WAL until the source's disk fills",
                   "watch WAL disk usage during the migration (walferry status --wal-warn SIZE warns about a slot "
                   "that retains more)"});
  } else if (keep == "-1") {
    out.push_back({"max_slot_wal_keep_size", S::kWarn,
                   "unlimited: a slot that falls behind keeps WAL until the source's disk fills",
                   "watch WAL disk usage during the migration, or set max_slot_wal_keep_size (a slot that exceeds "
                   "it is invalidated and the migration must restart)"});
  } else {
    out.push_back({"max_slot_wal_keep_size", S::kPass,
                   keep + ": a slot further behind is invalidated (the migration would restart)", ""});
  }
  int64_t timeout_ms = f.Int("wal_sender_timeout_ms");
  bool ok = timeout_ms == 0 || timeout_ms >= 10000;
  out.push_back({"wal_sender_timeout", timeout_ms == 0 ? S::kWarn : (ok ? S::kPass : S::kWarn),
                 "wal_sender_timeout is " + f.Text("wal_sender_timeout"),
                 timeout_ms == 0  ? "set wal_sender_timeout (e.g. 60s) so dead connections are noticed"
                 : ok             ? ""
                                  : "raise wal_sender_timeout to at least 10s (60s recommended)"});
}

void CheckTransactions(const Facts& f, std::vector<PreflightCheck>& out) {
  int64_t longs = f.Int("long_transactions");
  out.push_back({"long_running_transactions", longs == 0 ? S::kPass : S::kWarn,
                 std::to_string(longs) + " transactions open longer than 5 minutes (oldest " +
                     std::to_string(f.Int("oldest_transaction_seconds")) + " s)",
                 longs == 0 ? "" : "creating a replication slot waits for them to end: finish or cancel them"});
  int64_t prepared = f.Int("prepared_transactions");
  out.push_back({"prepared_transactions", prepared == 0 ? S::kPass : S::kWarn,
                 std::to_string(prepared) + " prepared transactions",
                 prepared == 0 ? "" : "creating a replication slot waits for them: COMMIT PREPARED or ROLLBACK PREPARED"});
}

void CheckPrivileges(const Facts& f, const Assessment& a, std::vector<PreflightCheck>& out) {
  bool super = f.Bool("is_superuser");
  std::string role = f.Text("role_name");
  bool repl = super || f.Bool("has_replication");
  out.push_back({"privilege_replication", repl ? S::kPass : S::kFail,
                 "role " + role + (repl ? " may" : " may not") + " create replication slots",
                 repl ? "" : "ALTER ROLE " + pg::QuoteIdent(role) + " REPLICATION;"});
  bool create = super || f.Bool("can_create_in_database");
  out.push_back({"privilege_create", create ? S::kPass : S::kFail,
                 "role " + role + (create ? " may" : " may not") + " create publications in the database",
                 create ? "" : "GRANT CREATE ON DATABASE " + pg::QuoteIdent(a.database) + " TO " + pg::QuoteIdent(role) + ";"});
  std::vector<std::string> missing;
  for (const auto& t : a.tables) {
    if (t.selected && !t.can_select) missing.push_back(t.info.name.Quoted());
  }
  std::string list;
  for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
  out.push_back({"privilege_select", missing.empty() ? S::kPass : S::kFail,
                 missing.empty() ? "role " + role + " may SELECT every selected table"
                                 : "role " + role + " may not SELECT " + list,
                 missing.empty() ? "" : "GRANT SELECT ON " + list + " TO " + pg::QuoteIdent(role) + ";"});
}

// Every selected table that walferry load would refuse (its findings that block: no replica identity, a key with a
// generated column), all listed at once with each one's exact fix, so that assess never says "ready" for a source
// that load then refuses table by table.
void CheckCarriedTables(const Assessment& a, std::vector<PreflightCheck>& out) {
  std::string list, fixes;
  int blocked = 0;
  for (const auto& t : a.tables) {
    if (!t.selected) continue;
    for (const auto& f : t.findings) {
      if (!BlocksLoad(f)) continue;
      ++blocked;
      list += (list.empty() ? "" : ", ") + t.info.name.Display() + " (" + f.code + ")";
      fixes += "\n          " + t.info.name.Display() + ": " + f.fix;
    }
  }
  if (blocked == 0) {
    out.push_back({"carried_tables", S::kPass, "walferry load can carry every selected table", ""});
    return;
  }
  out.push_back({"carried_tables", S::kFail,
                 std::to_string(blocked) + " selected table(s) that walferry load would refuse: " + list,
                 "for each, run its fix on the source, or leave the table out with an exclude rule (--exclude "
                 "SCHEMA.TABLE, rules.exclude in walferry.yaml):" + fixes});
}

void CheckVersionAndPlugin(const Facts& f, std::vector<PreflightCheck>& out) {
  auto libs = f.r.GetOpt(0, f.r.Column("output_plugin_libraries"));
  bool allowed = PgoutputAllowed(libs);
  out.push_back({"pgoutput_allowed", allowed ? S::kPass : S::kFail,
                 libs && !libs->empty() ? "output_plugin_libraries = '" + *libs + "'"
                                        : "no output plugin restriction on this server",
                 allowed ? "" : "add pgoutput to output_plugin_libraries on the source and reload"});
  pg::ServerFeatures v = pg::FeaturesOf(static_cast<int>(f.Int("server_version_num")), "source");
  S status = !v.served ? S::kFail : (v.publish_via_partition_root ? S::kPass : S::kWarn);
  out.push_back({"server_version", status, "PostgreSQL " + f.Text("server_version"),
                 status == S::kPass ? ""
                 : status == S::kWarn
                     ? "PostgreSQL 12 cannot publish partitioned tables: walferry load refuses them; exclude them or "
                       "upgrade the source to 13 or later"
                     : v.not_served_why});
}

// With a target: whether walferry migrates from the source's version to the target's (pg::MigrationPairOf), so
// that plan refuses a target older than the source as load would.
void CheckTargetVersion(const Facts& f, const AssessOptions& o, std::vector<PreflightCheck>& out) {
  if (o.target.empty()) return;
  pg::Connection target = pg::Connection::Open(o.target, {.role = "target"});
  const int source_num = static_cast<int>(f.Int("server_version_num"));
  const pg::MigrationPair p = pg::MigrationPairOf(source_num, target.ServerVersionNum());
  const std::string pair = "PostgreSQL " + f.Text("server_version") + " to PostgreSQL " +
                           target.ParameterStatus("server_version");
  out.push_back({"target_version", p.served ? S::kPass : S::kFail,
                 p.served ? pair : pair + ": " + p.not_served_why,
                 p.served ? "" : "migrate into a target of PostgreSQL " + std::to_string(source_num / 10000) +
                                     " or newer (docs/versions.md)"});
}

void CheckExtensions(const AssessOptions& o, Assessment& a, std::vector<PreflightCheck>& out) {
  if (a.extensions.empty()) {
    out.push_back({"target_extensions", S::kPass, "the source uses no extensions besides plpgsql", ""});
    return;
  }
  std::string list, create;
  for (const auto& e : a.extensions) {
    list += (list.empty() ? "" : ", ") + e;
    create += "CREATE EXTENSION " + pg::QuoteIdent(e) + "; ";
  }
  if (o.target.empty()) {
    out.push_back({"target_extensions", S::kWarn, "the target needs the extensions " + list,
                   "on the target: " + create + "(pass --target to check they are available)"});
    return;
  }
  pg::Connection target = pg::Connection::Open(o.target, {.role = "target"});
  std::string arr = "{";
  for (const auto& e : a.extensions) arr += (arr.size() > 1 ? "," : "") + std::string("\"") + e + "\"";
  pg::Result r = target.Exec(sql::Get("assess/target_extensions"), {pg::Param(arr + "}")});
  std::string unavailable;
  for (int i = 0; i < r.rows(); ++i) {
    if (!r.GetBool(i, 1)) unavailable += (unavailable.empty() ? "" : ", ") + std::string(r.Get(i, 0));
  }
  out.push_back({"target_extensions", unavailable.empty() ? S::kPass : S::kFail,
                 unavailable.empty() ? "the target offers every extension the source uses (" + list + ")"
                                     : "the target does not offer " + unavailable,
                 unavailable.empty() ? "" : "install the packages providing " + unavailable + " on the target"});
}

}  // namespace

bool PgoutputAllowed(const std::optional<std::string>& libraries) {
  if (!libraries || libraries->empty()) return true;
  size_t start = 0;
  while (start <= libraries->size()) {
    size_t comma = libraries->find(',', start);
    if (comma == std::string::npos) comma = libraries->size();
    if (Trim(libraries->substr(start, comma - start)) == "pgoutput") return true;
    start = comma + 1;
  }
  return false;
}

void RunPreflight(pg::Connection& source, const AssessOptions& options, Assessment& a) {
  WithContext("running preflight checks on the source", [&] {
    Facts f{source.Exec(sql::Get("assess/preflight"))};
    if (f.r.rows() != 1) throw Error(ErrorKind::kInternal, "preflight query returned no row for the current role");
    a.server_version = f.Text("server_version");
    a.role = f.Text("role_name");
    a.database = f.Text("database_name");
    a.large_objects = f.Int("large_objects");
    a.large_object_bytes = f.Int("large_object_bytes");
    for (const auto& e : nlohmann::json::parse(f.Text("extensions"))) a.extensions.push_back(e.at("name"));
    CheckWal(f, options, a.preflight);
    CheckTransactions(f, a.preflight);
    CheckPrivileges(f, a, a.preflight);
    CheckCarriedTables(a, a.preflight);
    CheckVersionAndPlugin(f, a.preflight);
    CheckTargetVersion(f, options, a.preflight);
    CheckExtensions(options, a, a.preflight);
  });
}

}  // namespace walferry::assess
