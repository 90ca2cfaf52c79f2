#include "lifecycle/target_hold.h"

#include "common/error.h"
#include "common/log.h"
#include "control/control_schema.h"
#include "pg/conninfo.h"
#include "pg/quote.h"
#include "sql/sql.h"

namespace walferry::lifecycle {
namespace {

std::string Database(pg::Connection& c) { return std::string(c.Exec("SELECT current_database()").Get(0, 0)); }

std::string HoldTable(const std::string& control_schema) {
  return pg::QuoteIdent(control_schema) + ".target_hold";
}

}  // namespace

std::string ForWalferry(const std::string& conninfo) {
  return pg::WithServerSetting(conninfo, "default_transaction_read_only", "off");
}

bool TargetHeld(pg::Connection& target, const std::string& control_schema) {
  if (!target.Exec(sql::Get("control/table_exists"), {pg::Param(control_schema), pg::Param("target_hold")})
           .GetBool(0, 0)) {
    return false;
  }
  return target.Exec("SELECT 1 FROM " + HoldTable(control_schema) + " WHERE database_name = current_database()")
             .rows() > 0;
}

bool TargetHeld(const std::string& target_conninfo, const std::string& control_schema) {
  pg::Connection target = pg::Connection::Open(target_conninfo, {.role = "target"});
  return TargetHeld(target, control_schema);
}

void HoldTargetReadOnly(pg::Connection& target, const std::string& control_schema) {
  const std::string db = Database(target);
  WithContext("making the target database " + db + " read-only until the fallback's slot exists", [&] {
    target.Exec(control::WithSchema(sql::Get("lifecycle/target_hold_table"), control_schema));
    target.Exec("INSERT INTO " + HoldTable(control_schema) +
                    " (database_name) VALUES (current_database()) ON CONFLICT (database_name) DO NOTHING");
    target.Exec("ALTER DATABASE " + pg::QuoteIdent(db) + " SET default_transaction_read_only = on");
  });
  log::For("cutover")->info("the target database {} is READ-ONLY for every session but walferry's until the "
                            "fallback's slot exists",
                            db);
}

bool ReleaseTarget(pg::Connection& target, const std::string& control_schema) {
  target.Exec("SET default_transaction_read_only = off");
  if (!TargetHeld(target, control_schema)) return false;
  const std::string db = Database(target);
  WithContext("making the target database " + db + " writable again", [&] {
    target.Exec("ALTER DATABASE " + pg::QuoteIdent(db) + " RESET default_transaction_read_only");
    target.Exec("DELETE FROM " + HoldTable(control_schema) + " WHERE database_name = current_database()");
  });
  log::For("cutover")->info("the target database {} takes writes again (new sessions)", db);
  return true;
}

}  // namespace walferry::lifecycle
