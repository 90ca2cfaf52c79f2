#include "lifecycle/block_connections.h"

#include <string>

#include "common/error.h"
#include "common/log.h"
#include "control/control_schema.h"
#include "pg/quote.h"
#include "sql/sql.h"

namespace walferry::lifecycle {
namespace {

std::string Grantee(const std::string& name) { return name == "PUBLIC" ? "PUBLIC" : pg::QuoteIdent(name); }

std::string Database(pg::Connection& source) { return std::string(source.Exec("SELECT current_database()").Get(0, 0)); }

struct Record {
  std::vector<std::string> grantees;
  bool granted_self = false;
};

std::optional<Record> ReadRecord(pg::Connection& target, const std::string& table, const std::string& db) {
  pg::Result r = target.Exec("SELECT granted_self, g FROM " + table +
                                 " LEFT JOIN LATERAL unnest(grantees) AS g ON true WHERE source_database = $1",
                             {pg::Param(db)});
  if (r.rows() == 0) return std::nullopt;
  Record rec;
  rec.granted_self = r.GetBool(0, 0);
  for (int i = 0; i < r.rows(); ++i) {
    if (auto g = r.GetOpt(i, 1)) rec.grantees.push_back(*g);
  }
  return rec;
}

}  // namespace

std::vector<std::string> BlockConnections(pg::Connection& source, pg::Connection& target,
                                          const std::string& control_schema) {
  const std::string db = Database(source);
  target.Exec(control::WithSchema(sql::Get("lifecycle/blocked_connect_table"), control_schema));
  const std::string table = pg::QuoteIdent(control_schema) + ".blocked_connect";
  std::optional<Record> rec = ReadRecord(target, table, db);
  if (!rec) {
    rec.emplace();
    bool self_holds = false;
    pg::Result r = source.Exec(sql::Get("lifecycle/connect_grantees"));
    for (int i = 0; i < r.rows(); ++i) {
      if (r.GetBool(i, 1)) {
        self_holds = true;
      } else {
        rec->grantees.push_back(std::string(r.Get(i, 0)));
      }
    }
    rec->granted_self = !self_holds;
    target.Exec("INSERT INTO " + table + " (source_database, grantees, granted_self) VALUES ($1, $2::text[], $3)",
                {pg::Param(db), pg::Param(pg::TextArray(rec->grantees)), pg::Param(rec->granted_self ? "t" : "f")});
  }
  const std::string on = "CONNECT ON DATABASE " + pg::QuoteIdent(db);
  WithContext("blocking new connections to database " + db, [&] {
    if (rec->granted_self) source.Exec("GRANT " + on + " TO CURRENT_USER");
    for (const std::string& g : rec->grantees) source.Exec("REVOKE " + on + " FROM " + Grantee(g));
  });
  return rec->grantees;
}

std::vector<std::string> RestoreConnections(pg::Connection& source, pg::Connection& target,
                                            const std::string& control_schema) {
  const std::string db = Database(source);
  const std::string table = pg::QuoteIdent(control_schema) + ".blocked_connect";
  if (!target.Exec(sql::Get("control/table_exists"), {pg::Param(control_schema), pg::Param("blocked_connect")})
           .GetBool(0, 0)) {
    return {};
  }
  std::optional<Record> rec = ReadRecord(target, table, db);
  if (!rec) return {};
  const std::string on = "CONNECT ON DATABASE " + pg::QuoteIdent(db);
  std::vector<std::string> restored;
  WithContext("giving back CONNECT on database " + db, [&] {
    for (const std::string& g : rec->grantees) {
      if (g != "PUBLIC" &&
          source.Exec("SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = $1", {pg::Param(g)}).GetInt(0, 0) ==
              0) {
        log::For("cutover")->warn("role {} held CONNECT on {} before the cutover and no longer exists", g, db);
        continue;
      }
      source.Exec("GRANT " + on + " TO " + Grantee(g));
      restored.push_back(g);
    }
    if (rec->granted_self) source.Exec("REVOKE " + on + " FROM CURRENT_USER");
  });
  target.Exec("DELETE FROM " + table + " WHERE source_database = $1", {pg::Param(db)});
  return restored;
}

}  // namespace walferry::lifecycle
