// The load's progress display: the total line and one line per running table (load/progress.h).
#include <gtest/gtest.h>

#include "load/progress.h"

namespace walferry::load {
namespace {

ProgressState TwoTablesCopying() {
  ProgressState s;
  s.set_name = "default";
  s.copies = 5;
  s.done_copies = 2;
  s.done_bytes = 10 << 20;
  s.done_rows = 1000;
  s.estimated_bytes = 100 << 20;
  s.seconds = 10;
  s.running.push_back({"public.accounts", 30 << 20, 300000, 60 << 20, 10, 2});
  s.running.push_back({"\"Odd\".\"T\"", 10 << 20, 5, 0, 5, 1});
  return s;
}

TEST(LoadProgress, TotalLineCountsFinishedAndRunningCopies) {
  std::vector<std::string> lines = ProgressLines(TwoTablesCopying());
  ASSERT_EQ(lines.size(), 3u);
  // 10 MB done + 40 MB running of ~100 MB in 10 s: 5 MB/s, 50 MB left: 10 s.
  EXPECT_EQ(lines[0],
            "set default: 2/5 copies done, 2 copying; 50.0 of ~100.0 MB, 1000 rows done; 5.0 MB/s; ETA 10 s");
}

TEST(LoadProgress, OneLinePerRunningTableWithRateAndEta) {
  std::vector<std::string> lines = ProgressLines(TwoTablesCopying());
  ASSERT_EQ(lines.size(), 3u);
  // 30 of ~60 MB in 10 s: 3 MB/s, 30 MB left: 10 s.
  EXPECT_EQ(lines[1], "  public.accounts (2 parts): 30.0 of ~60.0 MB, 300000 rows, 3.0 MB/s, ETA 10 s");
  // No estimate for this table: no "of", ETA unknown.
  EXPECT_EQ(lines[2], "  \"Odd\".\"T\": 10.0 MB, 5 rows, 2.0 MB/s, ETA ?");
}

TEST(LoadProgress, PastTheEstimateSaysSoonAndNothingRunningIsOneLine) {
  ProgressState s = TwoTablesCopying();
  s.running.clear();
  s.done_bytes = 120 << 20;
  std::vector<std::string> lines = ProgressLines(s);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("0 copying"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("ETA soon"), std::string::npos) << lines[0];
}

}  // namespace
}  // namespace walferry::load
