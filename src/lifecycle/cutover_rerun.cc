#include "lifecycle/cutover_rerun.h"

#include <algorithm>

#include "common/error.h"
#include "common/log.h"
#include "sql/sql.h"

namespace walferry::lifecycle {
namespace {

struct Recorded {
  const char* word;
  const char* flag;
  bool CutoverOptions::*field;
};

constexpr Recorded kRecorded[] = {
    {"fallback", "--fallback", &CutoverOptions::fallback},
    {"keep_slots", "--keep-slots", &CutoverOptions::keep_slots},
};

}  // namespace

std::vector<std::string> RecordedOptions(const CutoverOptions& o) {
  std::vector<std::string> out;
  for (const Recorded& r : kRecorded) {
    if (o.*r.field) out.emplace_back(r.word);
  }
  return out;
}

void ContinueAsRecorded(CutoverOptions& o, const control::CutoverRow& row) {
  for (const Recorded& r : kRecorded) {
    bool first = std::find(row.options.begin(), row.options.end(), r.word) != row.options.end();
    if (first && !(o.*r.field)) {
      o.*r.field = true;
      log::For("cutover")->info("continuing with {} as the run that stopped writes was given", r.flag);
    } else if (!first && o.*r.field) {
      throw Error(ErrorKind::kPrecondition, std::string(r.flag) + ": the " + o.names.command +
                                                " that stopped writes (now after step " + row.step + ") ran without it")
          .WithDetail("a rerun continues the switch the way it began")
          .WithHint("run " + o.names.command + " again without " + r.flag + "; or " + o.names.command +
                    " --abort and start the switch again with it");
    }
  }
}

bool DatabaseReadOnly(pg::Connection& source) {
  return source.Exec(sql::Get("lifecycle/database_read_only")).GetBool(0, 0);
}

}  // namespace walferry::lifecycle
