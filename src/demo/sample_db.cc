#include "demo/sample_db.h"

#include "sql/sql.h"

namespace walferry::demo {

void CreateSampleDatabase(pg::Connection& source, int scale) {
  WithContext("creating the demo's sample database", [&] {
    source.Exec("SELECT set_config('walferry.demo_scale', $1, false)", {pg::Param(std::to_string(scale))});
    source.Exec(sql::Get("demo/schema"));
  });
}

}  // namespace walferry::demo
