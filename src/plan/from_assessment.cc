#include "plan/from_assessment.h"

namespace walferry::plan {

TableStats StatsFrom(const assess::TableAssessment& t) {
  TableStats s{t.info.name, t.write_rate, t.info.total_bytes(), t.HasFinding("pk_and_unique")};
  s.references = t.references;
  auto rec = t.RecommendedLob();
  if (rec && t.HasFinding("lob")) {
    s.lob = *rec;
    s.lob_reason = "largest value " + std::to_string((t.MaxLobBytes() + 1023) / 1024) + " KB" +
                   (t.lob_estimated ? ", estimated" : "");
  }
  return s;
}

}  // namespace walferry::plan
