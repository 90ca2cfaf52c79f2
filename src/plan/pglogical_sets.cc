#include "plan/pglogical_sets.h"

#include "sql/sql.h"

namespace walferry::plan {

std::vector<PglogicalSet> ReadPglogicalSets(pg::Connection& source) {
  return WithContext("reading pglogical replication sets from the source", [&] {
    if (!source.Exec(sql::Get("assess/has_pglogical")).GetBool(0, 0)) {
      throw Error(ErrorKind::kPrecondition, "--from-pglogical: the source database has no pglogical extension")
          .WithHint("run plan without --from-pglogical (use --sets N), or connect to the database that has it");
    }
    pg::Result r = source.Exec(sql::Get("assess/pglogical_sets"));
    std::vector<PglogicalSet> out;
    for (int i = 0; i < r.rows(); ++i) {
      std::string set(r.Get(i, 0));
      if (out.empty() || out.back().name != set) out.push_back({set, {}});
      out.back().tables.push_back({std::string(r.Get(i, 1)), std::string(r.Get(i, 2))});
    }
    return out;
  });
}

}  // namespace walferry::plan
