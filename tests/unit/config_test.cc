#include "config/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "common/error.h"

namespace walferry::config {
namespace {

const char* kFull = R"(version: 1
source: "host=old dbname=app"
target: "host=new dbname=app"
control:
  schema: ferry
  dms_compatible_views: true
include:
  - "public.%"
  - '"Sales Dept".orders_%'
exclude:
  - public.tmp_%
sets:
  - name: hot
    apply: batch
    tables:
      - name: public.orders
        apply: transactional
        reason: "pk_and_unique -> transactional"
      - name: '"Sales Dept"."Order""Items"'
        lob: {max_kb: 1200, policy: truncate}
  - name: cold
    apply: transactional
    tables:
      - name: public.audit_log
load:
  table_jobs: 8
  index_jobs: 4
  split_tables_larger_than: 10GB
  target_prep: do-nothing
cdc:
  heartbeat_seconds: 30
  synchronous_commit: remote_apply
  error_policy: suspend-table
  max_retries: 3
  retry_for: 2m
  lock_timeout_seconds: 5
  statement_timeout_seconds: 600
  wal_warn: 2GB
  streaming: off
  spill_dir: /var/lib/walferry/spill
retention:
  apply_exceptions: 7d
  validation_failures: 0
log:
  level: debug
  format: json
)";

// Parses `yaml` expecting a kConfig error and returns its message.
std::string ParseError(const std::string& yaml) {
  try {
    Parse(yaml, "walferry.yaml");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConfig);
    return e.message();
  }
  ADD_FAILURE() << "no error for:\n" << yaml;
  return "";
}

TEST(Config, ParsesEveryKey) {
  Config c = Parse(kFull, "walferry.yaml");
  EXPECT_EQ(c.path, "walferry.yaml");
  EXPECT_EQ(c.source, "host=old dbname=app");
  EXPECT_EQ(c.target, "host=new dbname=app");
  EXPECT_EQ(c.control_schema, "ferry");
  EXPECT_TRUE(c.dms_compatible_views);
  ASSERT_EQ(c.rules.size(), 3u);
  EXPECT_EQ(c.rules[0], (SelectionRule{"public", "%", true}));
  EXPECT_EQ(c.rules[1], (SelectionRule{"Sales Dept", "orders_%", true}));
  EXPECT_EQ(c.rules[2], (SelectionRule{"public", "tmp_%", false}));
  ASSERT_EQ(c.sets.size(), 2u);
  EXPECT_EQ(c.sets[0].name, "hot");
  EXPECT_EQ(c.sets[0].apply, ApplyMode::kBatch);
  ASSERT_EQ(c.sets[0].tables.size(), 2u);
  EXPECT_EQ(c.sets[0].tables[0].name, (pg::TableName{"public", "orders"}));
  EXPECT_EQ(c.sets[0].tables[0].apply, ApplyMode::kTransactional);
  EXPECT_EQ(c.sets[0].tables[0].reason, "pk_and_unique -> transactional");
  EXPECT_EQ(c.sets[0].tables[1].name, (pg::TableName{"Sales Dept", "Order\"Items"}));
  EXPECT_FALSE(c.sets[0].tables[1].apply.has_value());
  EXPECT_EQ(c.sets[0].tables[1].lob.max_kb, 1200);
  EXPECT_EQ(c.sets[0].tables[1].lob.policy, LobPolicy::kTruncate);
  EXPECT_EQ(c.sets[1].apply, ApplyMode::kTransactional);
  EXPECT_EQ(c.load.table_jobs, 8);
  EXPECT_EQ(c.load.index_jobs, 4);
  EXPECT_EQ(c.load.split_tables_larger_than_bytes, int64_t{10} << 30);
  EXPECT_EQ(c.load.target_prep, "do-nothing");
  EXPECT_EQ(c.cdc.heartbeat_seconds, 30);
  EXPECT_EQ(c.cdc.synchronous_commit, "remote_apply");
  EXPECT_EQ(c.cdc.error_policy, "suspend-table");
  EXPECT_EQ(c.cdc.max_retries, 3);
  EXPECT_EQ(c.cdc.retry_for_seconds, 120);
  EXPECT_EQ(c.cdc.lock_timeout_seconds, 5);
  EXPECT_EQ(c.cdc.statement_timeout_seconds, 600);
  EXPECT_EQ(c.cdc.wal_warn_bytes, int64_t{2} << 30);
  EXPECT_EQ(c.cdc.streaming, config::CdcSettings::Streaming::kOff);
  EXPECT_EQ(c.cdc.spill_dir, "/var/lib/walferry/spill");
  EXPECT_EQ(c.retention.apply_exceptions_seconds, 7 * 86400);
  EXPECT_EQ(c.retention.validation_failures_seconds, 0);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.log_format, "json");
}

TEST(Config, MinimalDocumentGetsDefaults) {
  Config c = Parse("version: 1\n", "");
  Config defaults;
  EXPECT_EQ(c, defaults);
}

TEST(Config, AcceptsSizesInBytesAndUnits) {
  auto split = [](const std::string& v) {
    return Parse("version: 1\nload: {split_tables_larger_than: " + v + "}\n", "f").load.split_tables_larger_than_bytes;
  };
  EXPECT_EQ(split("1048576"), 1048576);
  EXPECT_EQ(split("512MB"), int64_t{512} << 20);
  EXPECT_EQ(split("\"10 gb\""), int64_t{10} << 30);
  EXPECT_EQ(split("64kB"), 64 * 1024);
  EXPECT_EQ(split("2TB"), int64_t{2} << 40);
  EXPECT_EQ(split("0"), 0);
}

TEST(Config, ToYamlRoundTripsToAnEqualConfig) {
  Config c = Parse(kFull, "walferry.yaml");
  std::string yaml = ToYaml(c);
  Config again = Parse(yaml, "walferry.yaml");
  EXPECT_EQ(again, c) << yaml;
  EXPECT_EQ(ToYaml(again), yaml);
}

TEST(Config, StreamingIsOnByDefaultAndEachModeRoundTrips) {
  EXPECT_EQ(Parse("version: 1\n", "walferry.yaml").cdc.streaming, config::CdcSettings::Streaming::kOn);
  for (const char* mode : {"on", "spill", "off"}) {
    Config c = Parse(std::string("version: 1\ncdc: {streaming: ") + mode + "}\n", "walferry.yaml");
    EXPECT_NE(ToYaml(c).find(std::string("streaming: \"") + mode + "\""), std::string::npos) << mode;
    EXPECT_EQ(Parse(ToYaml(c), "walferry.yaml"), c) << mode;
  }
  EXPECT_EQ(Parse("version: 1\ncdc: {streaming: spill}\n", "walferry.yaml").cdc.streaming,
            config::CdcSettings::Streaming::kSpill);
}

TEST(Config, OneApplyConnectionByDefaultTwoOnRequestNoOtherCount) {
  EXPECT_EQ(Parse("version: 1\n", "walferry.yaml").cdc.apply_connections, 1);
  Config two = Parse("version: 1\ncdc: {apply_connections: 2}\n", "walferry.yaml");
  EXPECT_EQ(two.cdc.apply_connections, 2);
  EXPECT_EQ(Parse(ToYaml(two), "walferry.yaml"), two);
  EXPECT_NE(ParseError("version: 1\ncdc: {apply_connections: 3}\n").find("apply_connections"), std::string::npos);
  EXPECT_NE(ParseError("version: 1\ncdc: {apply_connections: 0}\n").find("apply_connections"), std::string::npos);
}

TEST(Config, ToYamlRoundTripsAwkwardStrings) {
  Config c;
  c.source = "host='a b' password=x\"y\\z\n:# not a comment";
  c.sets.push_back(SetConfig{"true", ApplyMode::kBatch,
                             {TableConfig{{"We.ird", "na me\"%_"}, ApplyMode::kBatch, {}, "multi\nline # reason"}}});
  c.rules.push_back(SelectionRule{"Upper%", "x.y", true});
  c.rules.push_back(SelectionRule{"%", "%", false});
  c.load.split_tables_larger_than_bytes = 12345;
  Config again = Parse(ToYaml(c), "");
  EXPECT_EQ(again, c) << ToYaml(c);
}

TEST(Config, MigrationIdRoundTripsAndIsValidated) {
  Config c = Parse("version: 1\nmigration_id: 3f9a2c1b0d4e\n", "f");
  EXPECT_EQ(c.migration_id, "3f9a2c1b0d4e");
  EXPECT_EQ(Parse(ToYaml(c), "f"), c) << ToYaml(c);
  EXPECT_EQ(Parse("version: 1\n", "f").migration_id, "") << "a configuration from before keeps working";
  for (const char* bad : {"\"\"", "Upper", "a.b", "\"has space\"", "x123456789012345678901234567890123"}) {
    try {
      Parse(std::string("version: 1\nmigration_id: ") + bad + "\n", "f");
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kConfig) << bad;
      EXPECT_NE(std::string(e.what()).find("migration_id"), std::string::npos) << e.what();
    }
  }
}

TEST(Config, ToYamlWritesReasonsAsComments) {
  Config c = Parse(kFull, "walferry.yaml");
  std::string yaml = ToYaml(c);
  EXPECT_NE(yaml.find("- name: \"public.orders\"  # pk_and_unique -> transactional\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("split_tables_larger_than: \"10GB\""), std::string::npos) << yaml;
}

TEST(Config, LoadReadsAFileAndNamesItInErrors) {
  std::string path = ::testing::TempDir() + "walferry_config_test.yaml";
  {
    std::ofstream out(path);
    out << "version: 1\nlog:\n  level: loud\n";
  }
  try {
    Load(path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.message().rfind(path + ":3: key 'log.level': ", 0), 0u) << e.message();
  }
  std::remove(path.c_str());
}

TEST(Config, LoadOfMissingFileIsAConfigError) {
  try {
    Load("/nonexistent/walferry.yaml");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConfig);
    EXPECT_NE(e.message().find("/nonexistent/walferry.yaml"), std::string::npos);
  }
}

TEST(Config, MalformedYamlNamesFileAndLine) {
  std::string m = ParseError("version: 1\nsets:\n  - name: [unclosed\n");
  EXPECT_EQ(m.rfind("walferry.yaml:", 0), 0u) << m;
  EXPECT_NE(m.find("malformed YAML"), std::string::npos) << m;
  m = ParseError("version: 1\nlog: {level: info\n");
  EXPECT_NE(m.find("malformed YAML"), std::string::npos) << m;
}

TEST(Config, EmptyDocumentIsAnError) {
  EXPECT_EQ(ParseError("").rfind("walferry.yaml:1: key '(document)': the document is empty", 0), 0u);
}

TEST(Config, DocumentThatIsNotAMappingIsAnError) {
  std::string m = ParseError("- a\n- b\n");
  EXPECT_EQ(m.rfind("walferry.yaml:1: key '(document)': expected a mapping, found a list", 0), 0u) << m;
}

TEST(Config, MissingVersionIsAnError) {
  std::string m = ParseError("source: x\n");
  EXPECT_EQ(m, "walferry.yaml:1: key 'version': missing; this key is required");
}

TEST(Config, UnsupportedVersionIsAnError) {
  std::string m = ParseError("version: 2\n");
  EXPECT_EQ(m.rfind("walferry.yaml:1: key 'version': 2 is out of range; use an integer from 1 to 1", 0), 0u) << m;
}

TEST(Config, UnknownTopLevelKeySuggestsClosest) {
  std::string m = ParseError("version: 1\nset: []\n");
  EXPECT_EQ(m.rfind("walferry.yaml:2: key 'set': unknown key 'set' (did you mean 'sets'?)", 0), 0u) << m;
  EXPECT_NE(m.find("allowed keys here: "), std::string::npos) << m;
}

TEST(Config, UnknownNestedKeyNamesItsFullPath) {
  std::string m = ParseError(
      "version: 1\nsets:\n  - name: a\n    tables:\n      - name: t\n      - name: u\n        aply: batch\n");
  EXPECT_EQ(m.rfind("walferry.yaml:7: key 'sets[0].tables[1].aply': unknown key 'aply' (did you mean 'apply'?)", 0),
            0u)
      << m;
}

TEST(Config, UnknownKeyFarFromAnyKnownKeyHasNoSuggestion) {
  std::string m = ParseError("version: 1\nzzzzzzzz: 1\n");
  EXPECT_EQ(m.find("did you mean"), std::string::npos) << m;
}

TEST(Config, DuplicateKeyIsAnError) {
  std::string m = ParseError("version: 1\nsource: a\nsource: b\n");
  EXPECT_EQ(m, "walferry.yaml:3: key 'source': given twice (first on line 2); keep one");
}

TEST(Config, WrongApplyValueNamesKeyAndAllowedValues) {
  std::string m = ParseError(
      "version: 1\nsets:\n  - name: a\n    tables:\n      - name: t1\n      - name: t2\n      - name: t3\n"
      "        apply: fast\n");
  EXPECT_EQ(m, "walferry.yaml:8: key 'sets[0].tables[2].apply': 'fast' is not allowed; use batch or transactional");
}

TEST(Config, WrongTypesAreErrors) {
  EXPECT_EQ(ParseError("version: 1\nsets: {a: 1}\n").rfind("walferry.yaml:2: key 'sets': expected a list, found a mapping", 0), 0u);
  EXPECT_EQ(ParseError("version: 1\nsource: [a]\n").rfind("walferry.yaml:2: key 'source': expected a string, found a list", 0), 0u);
  EXPECT_EQ(ParseError("version: 1\nload: 3\n").rfind("walferry.yaml:2: key 'load': expected a mapping, found a scalar", 0), 0u);
  EXPECT_EQ(ParseError("version: 1\nload:\n  table_jobs: many\n")
                .rfind("walferry.yaml:3: key 'load.table_jobs': 'many' is not an integer from 0 to 1024", 0),
            0u);
  EXPECT_EQ(ParseError("version: 1\ncdc:\n  max_retries: -1\n")
                .rfind("walferry.yaml:3: key 'cdc.max_retries': -1 is out of range", 0),
            0u);
  EXPECT_EQ(ParseError("version: 1\ncontrol:\n  dms_compatible_views: yes\n"),
            "walferry.yaml:3: key 'control.dms_compatible_views': expected true or false, found 'yes'");
  EXPECT_EQ(ParseError("version: 1\ncontrol:\n  schema: \"\"\n"), "walferry.yaml:3: key 'control.schema': must not be empty");
  EXPECT_EQ(ParseError("version: 1\nsource:\nlog: {}\n"), "walferry.yaml:2: key 'source': has no value; give one or remove the key");
  EXPECT_EQ(ParseError("version: 1\nsets:\n  - name: a\n    tables:\n      - name: t\n        reason: ~\n"),
            "walferry.yaml:6: key 'sets[0].tables[0].reason': has no value; give one or remove the key");
  EXPECT_EQ(ParseError("version: 1\ninclude: [[a]]\n"), "walferry.yaml:2: key 'include[0]': expected a string, found a list");
}

TEST(Config, EnumSettingsRejectUnknownValues) {
  EXPECT_EQ(ParseError("version: 1\nload: {target_prep: wipe}\n"),
            "walferry.yaml:2: key 'load.target_prep': 'wipe' is not allowed; use error, do-nothing, truncate or drop");
  EXPECT_NE(ParseError("version: 1\ncdc: {synchronous_commit: maybe}\n").find("key 'cdc.synchronous_commit'"), std::string::npos);
  EXPECT_NE(ParseError("version: 1\ncdc: {error_policy: ignore}\n").find("stop, log-and-continue or suspend-table"), std::string::npos);
  EXPECT_NE(ParseError("version: 1\nlog: {format: xml}\n").find("use text or json"), std::string::npos);
  EXPECT_NE(ParseError("version: 1\ncdc: {retry_for: 10 minutes}\n").find("is not a duration"), std::string::npos);
  EXPECT_NE(ParseError("version: 1\ncdc: {retry_for: 0}\n").find("out of range"), std::string::npos);
  EXPECT_NE(ParseError("version: 1\ncdc: {retry_for: 8d}\n").find("out of range"), std::string::npos);
  EXPECT_NE(ParseError("version: 1\ncdc: {retry_for: 2w}\n").find("is not a duration"), std::string::npos);
  EXPECT_NE(ParseError("version: 1\ncdc: {streaming: maybe}\n").find("use on, spill or off"), std::string::npos);
}

TEST(Config, RetentionDefaultsToThirtyDaysAndZeroKeepsEveryRow) {
  Config defaults = Parse("version: 1\n", "walferry.yaml");
  EXPECT_EQ(defaults.retention.apply_exceptions_seconds, 30 * 86400);
  EXPECT_EQ(defaults.retention.validation_failures_seconds, 30 * 86400);
  Config c = Parse("version: 1\nretention: {apply_exceptions: 0, validation_failures: 12h}\n", "walferry.yaml");
  EXPECT_EQ(c.retention.apply_exceptions_seconds, 0);
  EXPECT_EQ(c.retention.validation_failures_seconds, 12 * 3600);
  EXPECT_EQ(Parse("version: 1\nretention: {apply_exceptions: 3650d}\n", "f").retention.apply_exceptions_seconds,
            3650 * 86400);
}

TEST(Config, RetentionRejectsWhatIsNoDuration) {
  EXPECT_EQ(ParseError("version: 1\nretention:\n  apply_exceptions: 1 month\n"),
            "walferry.yaml:3: key 'retention.apply_exceptions': '1 month' is not a duration; use seconds (e.g. 900) "
            "or a duration like \"90s\", \"15m\", \"2h\" or \"30d\"");
  EXPECT_NE(ParseError("version: 1\nretention: {validation_failures: -1d}\n").find("is not a duration"),
            std::string::npos);
  EXPECT_NE(ParseError("version: 1\nretention: {validation_failures: 3651d}\n")
                .find("key 'retention.validation_failures': '3651d' is out of range (0 to"),
            std::string::npos);
  EXPECT_NE(ParseError("version: 1\nretention: {apply_exception: 30d}\n").find("apply_exceptions"), std::string::npos);
  EXPECT_NE(ParseError("version: 1\nretention: 30d\n").find("key 'retention'"), std::string::npos);
}

TEST(Config, ToYamlWritesRetentionInTheLargestUnit) {
  Config c;
  c.retention.apply_exceptions_seconds = 90;
  c.retention.validation_failures_seconds = 0;
  std::string yaml = ToYaml(c);
  EXPECT_NE(yaml.find("  apply_exceptions: 90s\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("  validation_failures: 0\n"), std::string::npos) << yaml;
  EXPECT_NE(ToYaml(Config{}).find("  apply_exceptions: 30d\n"), std::string::npos);
  EXPECT_EQ(Parse(yaml, "").retention, c.retention);
}

TEST(Config, RetryForTakesSecondsOrUnits) {
  EXPECT_EQ(Parse("version: 1\ncdc: {retry_for: 90}\n", "walferry.yaml").cdc.retry_for_seconds, 90);
  EXPECT_EQ(Parse("version: 1\ncdc: {retry_for: 90s}\n", "walferry.yaml").cdc.retry_for_seconds, 90);
  EXPECT_EQ(Parse("version: 1\ncdc: {retry_for: 15m}\n", "walferry.yaml").cdc.retry_for_seconds, 900);
  EXPECT_EQ(Parse("version: 1\ncdc: {retry_for: 2h}\n", "walferry.yaml").cdc.retry_for_seconds, 7200);
  EXPECT_EQ(Parse("version: 1\n", "walferry.yaml").cdc.retry_for_seconds, 900);
}

TEST(Config, MalformedSizeIsAnError) {
  std::string m = ParseError("version: 1\nload:\n  split_tables_larger_than: 10 parsecs\n");
  EXPECT_EQ(m.rfind("walferry.yaml:3: key 'load.split_tables_larger_than': '10 parsecs' is not a size; use bytes", 0), 0u) << m;
  m = ParseError("version: 1\nload:\n  split_tables_larger_than: 99999999999TB\n");
  EXPECT_NE(m.find("too large"), std::string::npos) << m;
  m = ParseError("version: 1\nload:\n  split_tables_larger_than: 1.5GB\n");
  EXPECT_NE(m.find("not a size"), std::string::npos) << m;
}

TEST(Config, DuplicateSetNamesAreAnError) {
  std::string m = ParseError(
      "version: 1\nsets:\n  - name: a\n    tables: [{name: t1}]\n  - name: a\n    tables: [{name: t2}]\n");
  EXPECT_EQ(m.rfind("walferry.yaml:5: key 'sets[1].name': set name 'a' is already used by sets[0]", 0), 0u) << m;
}

TEST(Config, TableInTwoSetsIsAnError) {
  std::string m = ParseError(
      "version: 1\nsets:\n  - name: a\n    tables:\n      - name: public.t1\n  - name: b\n    tables:\n"
      "      - name: t2\n      - name: T1\n");
  EXPECT_EQ(m, "walferry.yaml:9: key 'sets[1].tables[1].name': table public.t1 is already listed at "
               "sets[0].tables[0]; a table belongs to exactly one set");
}

TEST(Config, SetNameMustBeUsableAsSlotName) {
  std::string m = ParseError("version: 1\nsets:\n  - name: Hot-Set\n    tables: [{name: t}]\n");
  EXPECT_EQ(m.rfind("walferry.yaml:3: key 'sets[0].name': 'Hot-Set' cannot name a replication slot", 0), 0u) << m;
  m = ParseError("version: 1\nsets:\n  - name: " + std::string(49, 'a') + "\n    tables: [{name: t}]\n");
  EXPECT_NE(m.find("at most 48 characters"), std::string::npos) << m;
}

TEST(Config, SetWithoutTablesIsAnError) {
  EXPECT_EQ(ParseError("version: 1\nsets:\n  - name: a\n"), "walferry.yaml:3: key 'sets[0].tables': missing; this key is required");
  EXPECT_EQ(ParseError("version: 1\nsets:\n  - name: a\n    tables: []\n"),
            "walferry.yaml:4: key 'sets[0].tables': a set needs at least one table");
}

TEST(Config, TableWithoutNameIsAnError) {
  std::string m = ParseError("version: 1\nsets:\n  - name: a\n    tables:\n      - apply: batch\n");
  EXPECT_EQ(m, "walferry.yaml:5: key 'sets[0].tables[0].name': missing; this key is required");
}

TEST(Config, MalformedTableNameIsAnError) {
  std::string m = ParseError("version: 1\nsets:\n  - name: a\n    tables:\n      - name: a.b.c\n");
  EXPECT_EQ(m.rfind("walferry.yaml:5: key 'sets[0].tables[0].name': table name 'a.b.c' has more than two parts", 0), 0u) << m;
  m = ParseError("version: 1\ninclude:\n  - public.%\n  - '\"unterminated'\n");
  EXPECT_EQ(m.rfind("walferry.yaml:4: key 'include[1]': unterminated quoted identifier", 0), 0u) << m;
}

TEST(Config, LobSettingsAreValidated) {
  std::string head = "version: 1\nsets:\n  - name: a\n    tables:\n      - name: t\n        lob:\n";
  EXPECT_EQ(ParseError(head + "          policy: truncate\n"),
            "walferry.yaml:7: key 'sets[0].tables[0].lob.policy': 'truncate' needs a limit; set "
            "sets[0].tables[0].lob.max_kb or use policy 'error'");
  EXPECT_EQ(ParseError(head + "          max_kb: 0\n").rfind("walferry.yaml:7: key 'sets[0].tables[0].lob.max_kb': 0 is out of range", 0), 0u);
  EXPECT_EQ(ParseError(head + "          policy: drop\n"),
            "walferry.yaml:7: key 'sets[0].tables[0].lob.policy': 'drop' is not allowed; use error or truncate");
  EXPECT_NE(ParseError(head + "          max: 3\n").find("did you mean 'max_kb'?"), std::string::npos);
}

TEST(Config, ApplyEnvironmentOverridesConnections) {
  Config c = Parse(kFull, "f");
  setenv("WALFERRY_SOURCE", "host=env-src", 1);
  setenv("WALFERRY_TARGET", "", 1);
  ApplyEnvironment(c);
  EXPECT_EQ(c.source, "host=env-src");
  EXPECT_EQ(c.target, "host=new dbname=app");  // set but empty: ignored
  unsetenv("WALFERRY_SOURCE");
  unsetenv("WALFERRY_TARGET");
}

TEST(WildcardMatch, PercentMatchesAnyRunIncludingEmpty) {
  EXPECT_TRUE(WildcardMatch("%", ""));
  EXPECT_TRUE(WildcardMatch("%", "orders"));
  EXPECT_TRUE(WildcardMatch("order%", "orders"));
  EXPECT_TRUE(WildcardMatch("order%", "order"));
  EXPECT_TRUE(WildcardMatch("%_001", "some_table_001"));
  EXPECT_TRUE(WildcardMatch("s%t%1", "some_table_001"));
  EXPECT_TRUE(WildcardMatch("%%a%%", "banana"));
  EXPECT_FALSE(WildcardMatch("order%", "my_orders"));
  EXPECT_FALSE(WildcardMatch("%_002", "some_table_001"));
  EXPECT_FALSE(WildcardMatch("a%b%c", "acb"));
}

TEST(WildcardMatch, UnderscoreIsLiteral) {
  EXPECT_TRUE(WildcardMatch("a_c", "a_c"));
  EXPECT_FALSE(WildcardMatch("a_c", "abc"));
  EXPECT_FALSE(WildcardMatch("tmp_%", "tmpx"));
}

TEST(WildcardMatch, IsCaseSensitiveAndExact) {
  EXPECT_FALSE(WildcardMatch("Orders", "orders"));
  EXPECT_FALSE(WildcardMatch("orders", "orders2"));
  EXPECT_FALSE(WildcardMatch("", "x"));
  EXPECT_TRUE(WildcardMatch("", ""));
}

TEST(Selected, NoRulesSelectsEverything) {
  EXPECT_TRUE(Selected({}, {"any", "thing"}));
}

TEST(Selected, IncludeThenExcludeFollowsDmsSemantics) {
  std::vector<SelectionRule> rules = {{"public", "%", true}, {"public", "tmp_%", false}, {"audit", "log", true}};
  EXPECT_TRUE(Selected(rules, {"public", "orders"}));
  EXPECT_FALSE(Selected(rules, {"public", "tmp_x"}));
  EXPECT_TRUE(Selected(rules, {"audit", "log"}));
  EXPECT_FALSE(Selected(rules, {"audit", "log2"}));
  EXPECT_FALSE(Selected(rules, {"other", "orders"}));
}

TEST(Selected, ExcludeWinsRegardlessOfOrder) {
  std::vector<SelectionRule> rules = {{"public", "tmp_%", false}, {"%", "%", true}};
  EXPECT_FALSE(Selected(rules, {"public", "tmp_1"}));
  EXPECT_TRUE(Selected(rules, {"public", "t"}));
}

TEST(Selected, ExcludeOnlyMeansAllBut) {
  std::vector<SelectionRule> rules = {{"pg_temp%", "%", false}};
  EXPECT_TRUE(Selected(rules, {"public", "orders"}));
  EXPECT_FALSE(Selected(rules, {"pg_temp_3", "x"}));
}

}  // namespace
}  // namespace walferry::config
