#include "control/retention.h"

#include "control/control_schema.h"
#include "sql/sql.h"

namespace walferry::control {

const char* RetainedTable(Retained table) {
  switch (table) {
    case Retained::kApplyExceptions: return "apply_exceptions";
    case Retained::kValidationFailures: return "validation_failures";
  }
  return "unknown";
}

int64_t ExpireRows(pg::Connection& target, const std::string& schema, Retained table, const std::string& set_name,
                   std::chrono::seconds max_age, int64_t batch) {
  if (max_age.count() <= 0) return 0;
  const std::string name = RetainedTable(table);
  return WithContext("deleting " + set_name + "'s " + name + " older than " + std::to_string(max_age.count()) + " s",
                     [&] {
                       std::string sql = WithSchema(sql::Get("control/expire_" + name), schema);
                       return target
                           .Exec(sql, {pg::Param(set_name), pg::Param(std::to_string(max_age.count())),
                                       pg::Param(std::to_string(batch))})
                           .GetInt(0, 0);
                     });
}

int64_t ExpireAllRows(pg::Connection& target, const std::string& schema, Retained table, const std::string& set_name,
                      std::chrono::seconds max_age) {
  int64_t total = 0;
  for (int64_t n = kExpireBatch; n == kExpireBatch;) {
    n = ExpireRows(target, schema, table, set_name, max_age, kExpireBatch);
    total += n;
  }
  return total;
}

}  // namespace walferry::control
