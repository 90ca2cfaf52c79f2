#include "control/copied_large_objects.h"

#include "control/control_schema.h"
#include "pg/quote.h"
#include "sql/sql.h"

namespace walferry::control {
namespace {

std::string Record(const std::string& control_schema) {
  return pg::QuoteIdent(control_schema) + ".copied_large_objects";
}

}  // namespace

std::set<std::string> CopiedLargeObjects(pg::Connection& db, const std::string& control_schema) {
  std::set<std::string> out;
  if (!db.Exec(sql::Get("control/table_exists"), {pg::Param(control_schema), pg::Param("copied_large_objects")})
           .GetBool(0, 0)) {
    return out;
  }
  pg::Result r = db.Exec("SELECT lo::bigint FROM " + Record(control_schema));
  for (int i = 0; i < r.rows(); ++i) out.emplace(r.Get(i, 0));
  return out;
}

std::set<std::string> MigrationLargeObjects(pg::Connection& source, pg::Connection& target,
                                            const std::string& control_schema) {
  std::set<std::string> out = CopiedLargeObjects(target, control_schema);
  out.merge(CopiedLargeObjects(source, control_schema));
  return out;
}

std::set<std::string> OtherMigrationsLargeObjects(pg::Connection& db, const std::string& control_schema) {
  std::set<std::string> out;
  pg::Result schemas = db.Exec(sql::Get("control/other_copied_large_objects"), {pg::Param(control_schema)});
  for (int i = 0; i < schemas.rows(); ++i) out.merge(CopiedLargeObjects(db, std::string(schemas.Get(i, 0))));
  for (const std::string& oid : CopiedLargeObjects(db, control_schema)) out.erase(oid);
  return out;
}

void EnsureCopiedLargeObjects(pg::Connection& db, const std::string& control_schema) {
  db.Exec(WithSchema(sql::Get("control/copied_large_objects_table"), control_schema));
}

void RememberCopiedLargeObject(pg::Connection& db, const std::string& control_schema, const std::string& oid) {
  db.Exec("INSERT INTO " + Record(control_schema) +
              " (lo) VALUES ($1::oid) ON CONFLICT (lo) DO UPDATE SET copied_at = now()",
          {pg::Param(oid)});
}

void ForgetCopiedLargeObject(pg::Connection& db, const std::string& control_schema, const std::string& oid) {
  db.Exec("DELETE FROM " + Record(control_schema) + " WHERE lo = $1::oid", {pg::Param(oid)});
}

}  // namespace walferry::control
