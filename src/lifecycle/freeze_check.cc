#include "lifecycle/freeze_check.h"

#include <string>

#include "common/error.h"
#include "pg/quote.h"
#include "sql/sql.h"

namespace walferry::lifecycle {
namespace {

std::string S(const pg::Result& r, int row, int col) { return std::string(r.Get(row, col)); }

void RoleSettings(pg::Connection& source, const std::string& db, std::vector<FreezeLeak>& out) {
  pg::Result r = source.Exec(sql::Get("lifecycle/freeze_role_settings"));
  for (int i = 0; i < r.rows(); ++i) {
    const std::string role = S(r, i, 0);
    const bool in_db = r.GetBool(i, 1);
    const std::string where = in_db ? " IN DATABASE " + pg::QuoteIdent(db) : "";
    out.push_back({"role:" + role,
                   "role " + role + " has its own setting '" + S(r, i, 2) + "'" +
                       (in_db ? " in this database" : " for every database") +
                       ": its new sessions write through the freeze",
                   "ALTER ROLE " + pg::QuoteIdent(role) + where + " RESET default_transaction_read_only"});
  }
}

void Prepared(pg::Connection& source, std::vector<FreezeLeak>& out) {
  for (const std::string& p : PreparedTransactions(source)) {
    out.push_back({"prepared",
                   "prepared transaction " + p + ": COMMIT PREPARED works in a read-only session",
                   "COMMIT PREPARED or ROLLBACK PREPARED it (the cutover waits for prepared transactions only with "
                   "consent, at most --timeout)"});
  }
}

void Background(pg::Connection& source, std::vector<FreezeLeak>& out) {
  pg::Result r = source.Exec(sql::Get("lifecycle/writing_background"));
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({"background",
                   "pid " + S(r, i, 0) + " (" + S(r, i, 1) + ", application '" + S(r, i, 2) +
                       "') is not a client session and is writing (xid " + S(r, i, 3) + ")",
                   "stop that job (or let it finish) before the cutover"});
  }
}

void Superusers(pg::Connection& source, std::vector<FreezeLeak>& out) {
  pg::Result r = source.Exec(sql::Get("lifecycle/superuser_sessions"));
  for (int i = 0; i < r.rows(); ++i) {
    const std::string role = S(r, i, 1);
    out.push_back({"superuser:" + role,
                   "pid " + S(r, i, 0) + " is connected as superuser " + role + " (application '" + S(r, i, 2) +
                       "', " + S(r, i, 3) + "): a superuser can make the database writable again",
                   "disconnect it, or connect the application as a role that is not a superuser"});
  }
}

}  // namespace

std::vector<std::string> PreparedTransactions(pg::Connection& source) {
  pg::Result r = source.Exec(sql::Get("lifecycle/prepared_xacts"));
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back("'" + S(r, i, 0) + "' (xid " + S(r, i, 3) + ", prepared " + S(r, i, 1) + " by " + S(r, i, 2) +
                  ")");
  }
  return out;
}

std::vector<FreezeLeak> FindFreezeLeaks(pg::Connection& source) {
  const std::string db(source.Exec("SELECT current_database()").Get(0, 0));
  std::vector<FreezeLeak> out;
  RoleSettings(source, db, out);
  Prepared(source, out);
  Background(source, out);
  Superusers(source, out);
  return out;
}

void CheckConsentToken(const std::string& token) {
  if (token == "prepared" || token == "background") return;
  for (const char* prefix : {"role:", "superuser:"}) {
    const std::string p(prefix);
    if (token.size() > p.size() && token.compare(0, p.size(), p) == 0) return;
  }
  throw Error(ErrorKind::kUsage, "--allow-writers " + token + ": not one of role:NAME, superuser:NAME, prepared, "
                                 "background");
}

void RefuseUnconsentedLeaks(const std::vector<FreezeLeak>& leaks, const std::set<std::string>& consent,
                            const std::string& server, const std::string& command) {
  std::string list;
  int n = 0;
  for (const FreezeLeak& l : leaks) {
    if (consent.contains(l.consent)) continue;
    ++n;
    list += "\n  - " + l.what + "; fix: " + l.fix + "; or accept it: --allow-writers " + l.consent;
  }
  if (n == 0) return;
  throw Error(ErrorKind::kPrecondition,
              std::to_string(n) + " way(s) to write to the " + server +
                  " would remain after its database is made read-only (the freeze is only a default):" + list)
      .WithDetail("nothing was changed: the " + server + " is writable as before")
      .WithHint("fix each one and run " + command + " again, or accept it with the --allow-writers flag named "
                "(docs/runbook.md, the freeze); a write that gets through anyway fails the cutover before the slots "
                "are dropped");
}

void CheckFreezePrivileges(pg::Connection& source, const FreezeNeeds& needs, const std::string& server) {
  pg::Result r = source.Exec(sql::Get("lifecycle/freeze_privileges"));
  if (r.rows() != 1) throw Error(ErrorKind::kInternal, "reading walferry's role on the " + server);
  const bool super = r.GetBool(0, 0);
  if (super) return;
  const std::string role = S(r, 0, 5), owner = S(r, 0, 6);
  std::string missing;
  auto add = [&](const std::string& what) { missing += "\n  - " + what; };
  if (!r.GetBool(0, 1)) {
    add("ALTER DATABASE ... SET default_transaction_read_only needs the database's owner (" + owner +
        ") or a superuser: GRANT " + pg::QuoteIdent(owner) + " TO " + pg::QuoteIdent(role));
  }
  if (needs.terminate_sessions && !r.GetBool(0, 2)) {
    add("--terminate-sessions needs pg_signal_backend: GRANT pg_signal_backend TO " + pg::QuoteIdent(role));
  }
  if (needs.see_sessions && !r.GetBool(0, 3)) {
    add("waiting for other roles' sessions needs pg_read_all_stats (they are hidden otherwise): GRANT "
        "pg_read_all_stats TO " + pg::QuoteIdent(role) + " (or pass --writes-stopped)");
  }
  if (!r.GetBool(0, 4)) {
    add("reading the slots without consuming them needs REPLICATION: ALTER ROLE " + pg::QuoteIdent(role) +
        " REPLICATION");
  }
  if (missing.empty()) return;
  throw Error(ErrorKind::kPrecondition, "walferry's role " + role + " on the " + server +
                                            " lacks what the cutover needs:" + missing)
      .WithDetail("nothing was changed: the " + server + " is writable as before");
}

}  // namespace walferry::lifecycle
