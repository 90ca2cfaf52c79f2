// serve: --listen parsing, the token file, the page's embedded files and the metrics of a reading, without a server.
#include <fstream>

#include <gtest/gtest.h>

#include "common/error.h"
#include "serve/metrics.h"
#include "serve/page.h"
#include "serve/server.h"

namespace walferry::serve {
namespace {

ErrorKind KindOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.kind();
  }
  return ErrorKind::kInternal;
}

TEST(ServeListen, ParsesHostAndPort) {
  EXPECT_EQ(ParseListen("127.0.0.1:9187"), std::make_pair(std::string("127.0.0.1"), 9187));
  EXPECT_EQ(ParseListen("[::1]:0"), std::make_pair(std::string("::1"), 0));
  EXPECT_EQ(ParseListen("0.0.0.0:65535"), std::make_pair(std::string("0.0.0.0"), 65535));
  for (const char* bad : {"9187", ":9187", "host:", "host:65536", "host:-1", "host:1x", "::1:9187", "[::1:9187",
                          "[]:80", "host:123456"}) {
    EXPECT_EQ(KindOf([&] { ParseListen(bad); }), ErrorKind::kUsage) << bad;
  }
}

TEST(ServeToken, IsTheFilesTrimmedTextAndAMissingOrEmptyFileIsAUsageError) {
  std::string path = testing::TempDir() + "/walferry-token";
  std::ofstream(path) << "  abc.DEF-123\n";
  EXPECT_EQ(ReadTokenFile(path), "abc.DEF-123");
  std::ofstream(path) << "\n \n";
  EXPECT_EQ(KindOf([&] { ReadTokenFile(path); }), ErrorKind::kUsage);
  EXPECT_EQ(KindOf([&] { ReadTokenFile(path + ".missing"); }), ErrorKind::kUsage);
}

TEST(ServePage, IsEmbeddedWithoutAnyExternalResource) {
  std::optional<std::string_view> html = PageAsset("index.html");
  ASSERT_TRUE(html);
  EXPECT_NE(html->find("/assets/app.js"), std::string_view::npos);
  ASSERT_TRUE(PageAsset("app.js"));
  ASSERT_TRUE(PageAsset("page.css"));
  EXPECT_FALSE(PageAsset("missing.js"));
  for (const char* name : {"index.html", "app.js", "page.css"}) {
    std::string text(*PageAsset(name));
    // The SVG namespace is a name, not a resource.
    for (size_t at; (at = text.find("http://www.w3.org/2000/svg")) != std::string::npos;) text.erase(at, 26);
    EXPECT_EQ(text.find("http://"), std::string::npos) << name << " must not load anything from elsewhere";
    EXPECT_EQ(text.find("https://"), std::string::npos) << name;
  }
}

Sample OneSet() {
  Sample s;
  s.obs.time = 1000;
  s.obs.source_wal = Lsn::Parse("0/3000000");
  s.obs.max_slot_wal_keep_bytes = 1 << 30;
  s.obs.status = nlohmann::json::parse(R"([{"set": "a b", "direction": "forward", "state": "FAILED", "running": false,
    "applied_lsn": "0/2000000", "exceptions": 3, "suspended_tables": [{"table": "public.t"}],
    "slot_confirmed_lsn": "0/2000000", "slot_active": false, "slot_retained_wal_bytes": 4096,
    "slot_wal_status": "extended", "slot_safe_wal_bytes": 268435456}])");
  s.obs.counters["a b"] = {"FAILED", 42, 7, 5, 2};
  s.obs.load_state["a b"] = "loaded";
  s.obs.slot_stats["a b"] = {100, 1, 9};
  s.obs.tables.push_back({.set = "a b", .table = "public.\"T\"", .state = "copying", .rows_copied = 5,
                          .rows_estimated = 50, .size_bytes = 8192});
  s.sets["a b"] = {.lag_bytes = 16777216, .lag_seconds = 2.5};
  s.obs.cutover_step = "caught_up";
  s.obs.cutover_downtime_seconds = 12.5;
  return s;
}

TEST(ServeMetrics, ExportsEachFactUnderItsConventionalName) {
  std::string text = MetricsText(OneSet());
  for (const char* line : {
           "walferry_up 1",
           "walferry_set_state{set=\"a b\",state=\"failed\"} 1",
           "walferry_set_state{set=\"a b\",state=\"change_processing\"} 0",
           "walferry_set_running{set=\"a b\"} 0",
           "walferry_changes_applied_total{set=\"a b\"} 42",
           "walferry_transactions_applied_total{set=\"a b\"} 7",
           "walferry_groups_applied_total{set=\"a b\"} 5",
           "walferry_retries_total{set=\"a b\"} 2",
           "walferry_set_lag_bytes{set=\"a b\"} 16777216",
           "walferry_set_lag_seconds{set=\"a b\"} 2.5",
           "walferry_set_applied_lsn_bytes{set=\"a b\"} 33554432",
           "walferry_source_wal_lsn_bytes 50331648",
           "walferry_apply_exceptions{set=\"a b\"} 3",
           "walferry_suspended_tables{set=\"a b\"} 1",
           "walferry_slot_retained_wal_bytes{set=\"a b\"} 4096",
           "walferry_slot_safe_wal_ratio{set=\"a b\"} 0.25",
           "walferry_slot_wal_status{set=\"a b\",wal_status=\"extended\"} 1",
           "walferry_slot_wal_status{set=\"a b\",wal_status=\"lost\"} 0",
           "walferry_slot_spill_bytes_total{set=\"a b\"} 100",
           "walferry_set_load_state{set=\"a b\",state=\"loaded\"} 1",
           "walferry_validation_differences{set=\"a b\"} 0",
           "walferry_load_table_rows{set=\"a b\",table=\"public.\\\"T\\\"\"} 50",
           "walferry_load_table_copied{set=\"a b\",table=\"public.\\\"T\\\"\"} 0",
           "walferry_cutover_step{step=\"caught_up\"} 1",
           "walferry_cutover_downtime_seconds 12.5",
           "# TYPE walferry_changes_applied_total counter",
           "# TYPE walferry_set_lag_bytes gauge",
       }) {
    EXPECT_NE(text.find(std::string(line) + "\n"), std::string::npos) << line << "\n" << text;
  }
  // Unknown values are left out, never made 0: no ETA was derived.
  EXPECT_EQ(text.find("walferry_set_eta_seconds{"), std::string::npos) << text;
}

TEST(ServeMetrics, DownIsUpZeroAlone) {
  std::string text = MetricsDownText();
  EXPECT_NE(text.find("walferry_up 0\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("walferry_set"), std::string::npos) << text;
}

}  // namespace
}  // namespace walferry::serve

namespace walferry::serve {
namespace {

Sample Reading(double time, const char* source_wal, const char* applied, bool running, const char* latency) {
  Sample s;
  s.obs.time = time;
  s.obs.source_wal = Lsn::Parse(source_wal);
  s.obs.status = nlohmann::json::array();
  s.obs.status.push_back({{"set", "a"}, {"direction", "forward"}, {"running", running}, {"applied_lsn", applied},
                          {"slot_confirmed_lsn", "0/1000000"}, {"latency_seconds", latency}, {"rows_per_second", "7"}});
  return s;
}

// Lag from the source's WAL position to the target's; ETA = lag / (apply rate - source rate) over the window.
TEST(ServeDerive, LagAndEtaToCaughtUp) {
  MonitorOptions options;
  std::deque<HistoryPoint> history;
  Sample first = Reading(1000, "0/5000000", "0/2000000", true, "40");
  history.push_back(Derive(first, history, options));
  EXPECT_EQ(first.sets["a"].lag_bytes, 0x3000000);
  EXPECT_FALSE(first.sets["a"].eta_seconds) << "no rate yet";
  // 100 s later: the target advanced 0x1000000 (16 MiB), the source 0x800000 (8 MiB): the lag shrinks by
  // 8 MiB / 100 s; 40 MiB left: 500 s.
  Sample second = Reading(1100, "0/5800000", "0/3000000", true, "30");
  history.push_back(Derive(second, history, options));
  EXPECT_EQ(second.sets["a"].lag_bytes, 0x2800000);
  EXPECT_DOUBLE_EQ(*second.sets["a"].apply_rate_bytes, 0x1000000 / 100.0);
  EXPECT_DOUBLE_EQ(*second.sets["a"].source_rate_bytes, 0x800000 / 100.0);
  EXPECT_DOUBLE_EQ(*second.sets["a"].eta_seconds, 500);
  EXPECT_DOUBLE_EQ(*second.sets["a"].lag_seconds, 30);
  EXPECT_EQ(history.back().sets["a"].rows_per_second, 7);
  // The source writes faster than the target applies: no ETA, never a negative one.
  Sample third = Reading(1200, "0/7000000", "0/3800000", true, "50");
  history.push_back(Derive(third, history, options));
  EXPECT_FALSE(third.sets["a"].eta_seconds) << *third.sets["a"].eta_seconds;
  // The running worker says it is caught up: 0.
  Sample fourth = Reading(1210, "0/7000100", "0/7000000", true, "0");
  history.push_back(Derive(fourth, history, options));
  EXPECT_EQ(fourth.sets["a"].eta_seconds, 0);
  // The slot's confirmed position past the checkpoint counts as the target's position.
  Sample fifth = Reading(1220, "0/7000100", "0/7000000", false, "3");
  fifth.obs.status[0]["slot_confirmed_lsn"] = "0/7000100";
  history.push_back(Derive(fifth, history, options));
  EXPECT_EQ(fifth.sets["a"].lag_bytes, 0);
  EXPECT_EQ(fifth.sets["a"].eta_seconds, 0);
}

TEST(ServeDerive, TableEtaFromItsCopyRate) {
  MonitorOptions options;
  std::deque<HistoryPoint> history;
  auto reading = [](double time, int64_t rows) {
    Sample s;
    s.obs.time = time;
    s.obs.status = nlohmann::json::array();
    s.obs.tables.push_back({.set = "a", .table = "public.big", .state = "copying", .rows_copied = rows,
                            .rows_estimated = 1000});
    s.obs.tables.push_back({.set = "a", .table = "public.small", .state = "copied", .rows_copied = 3});
    return s;
  };
  Sample first = reading(10, 100);
  history.push_back(Derive(first, history, options));
  EXPECT_FALSE(first.table_eta["a\tpublic.big"]);
  EXPECT_EQ(first.table_eta["a\tpublic.small"], 0);
  Sample second = reading(20, 300);  // 20 rows/s, 700 left
  history.push_back(Derive(second, history, options));
  EXPECT_DOUBLE_EQ(*second.table_eta["a\tpublic.big"], 35);
}

}  // namespace
}  // namespace walferry::serve
