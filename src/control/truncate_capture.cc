#include "control/truncate_capture.h"

#include <string>

#include "common/error.h"
#include "common/log.h"
#include "control/control_schema.h"
#include "pg/server_version.h"
#include "sql/sql.h"

namespace walferry::control {
namespace {

constexpr int kAttempts = 3;

// Runs `statements` in one transaction that waits at most 5 s for the partition's lock (its open writes), up to
// kAttempts times. `benign`: a SQLSTATE meaning another walferry process did it already.
void OnPartition(pg::Connection& source, const pg::TableName& leaf, const std::vector<std::string>& statements,
                 const char* benign) {
  for (int attempt = 1;; ++attempt) {
    try {
      pg::InTransaction(source, [&] {
        source.Exec("SET LOCAL lock_timeout = '5s'");
        for (const std::string& sql : statements) source.Exec(sql);
      });
      return;
    } catch (const Error& e) {
      if (e.sqlstate() == benign) return;
      if (e.sqlstate() != "55P03" || attempt == kAttempts) throw;
      log::For("control")->warn("waiting for the open writes on partition {} to change walferry's TRUNCATE "
                                "trigger (attempt {} of {} timed out after 5 s)",
                                leaf.Display(), attempt, kAttempts);
    }
  }
}

// The leaf partitions of the publication's partitioned tables that have (with_trigger) or lack the trigger.
std::vector<pg::TableName> Leaves(pg::Connection& source, const std::string& publication, bool with_trigger) {
  pg::Result r = source.Exec(sql::Get("control/truncate_capture_leaves"),
                             {pg::Param(publication), pg::Param(std::string(kTruncateTrigger))});
  std::vector<pg::TableName> out;
  for (int i = 0; i < r.rows(); ++i) {
    if (r.GetBool(i, 2) == with_trigger) out.push_back({std::string(r.Get(i, 0)), std::string(r.Get(i, 1))});
  }
  return out;
}

}  // namespace

TruncateCaptureResult InstallTruncateCapture(pg::Connection& source, const std::string& schema,
                                             const std::string& publication) {
  TruncateCaptureResult result;
  if (!pg::FeaturesOf(source.ServerVersionNum()).logical_messages) {
    result.supported = false;
    return result;
  }
  std::vector<pg::TableName> missing = Leaves(source, publication, false);
  if (missing.empty()) return result;
  try {
    WithContext("creating walferry's partition TRUNCATE trigger function " + pg::QuoteIdent(schema) +
                    ".partition_truncated() on the source",
                [&] {
                  // Workers of other sets may do the same at the same moment: concurrent CREATE OR REPLACE of
                  // one function fails ("tuple concurrently updated"), so one at a time.
                  pg::InTransaction(source, [&] {
                    source.Exec("SELECT pg_advisory_xact_lock(hashtext('walferry_partition_truncate'))");
                    source.Exec(WithSchema(sql::Get("control/truncate_capture_function"), schema));
                  });
                });
    const std::string trigger = pg::QuoteIdent(kTruncateTrigger);
    for (const pg::TableName& leaf : missing) {
      WithContext("creating the trigger " + std::string(kTruncateTrigger) + " on the source's partition " +
                      leaf.Display(),
                  [&] {
                    OnPartition(source, leaf,
                                {"CREATE TRIGGER " + trigger + " AFTER TRUNCATE ON " + leaf.Quoted() +
                                     " FOR EACH STATEMENT EXECUTE FUNCTION " + pg::QuoteIdent(schema) +
                                     ".partition_truncated()",
                                 // Also when the truncating session replicates (session_replication_role).
                                 "ALTER TABLE " + leaf.Quoted() + " ENABLE ALWAYS TRIGGER " + trigger},
                                "42710");  // created meanwhile by another walferry process
                  });
      result.installed.push_back(leaf);
    }
  } catch (Error& e) {
    if (e.sqlstate() == "42501") {  // insufficient_privilege
      throw Error(ErrorKind::kPrecondition, e.what())
          .WithDetail("with publish_via_partition_root, pgoutput does not send a TRUNCATE of one partition; "
                      "walferry carries it through a trigger on each partition, which this role may not create")
          .WithHint("run walferry as the owner of the partitioned tables (or a superuser), with CREATE on the "
                    "source database for the schema " + pg::QuoteIdent(schema));
    }
    throw;
  }
  return result;
}

std::vector<pg::TableName> DropTruncateTriggers(pg::Connection& source, const std::string& publication) {
  if (!pg::FeaturesOf(source.ServerVersionNum()).logical_messages) return {};
  std::vector<pg::TableName> dropped = Leaves(source, publication, true);
  for (const pg::TableName& leaf : dropped) {
    WithContext("dropping the trigger " + std::string(kTruncateTrigger) + " on the source's partition " +
                    leaf.Display(),
                [&] {
                  OnPartition(source, leaf,
                              {"DROP TRIGGER IF EXISTS " + pg::QuoteIdent(kTruncateTrigger) + " ON " + leaf.Quoted()},
                              "42P01");  // the partition was dropped meanwhile
                });
  }
  return dropped;
}

std::optional<std::string> DropTruncateFunction(pg::Connection& source, const std::string& schema) {
  const std::string function = pg::QuoteIdent(schema) + ".partition_truncated()";
  if (source.Exec("SELECT to_regprocedure($1) IS NOT NULL", {pg::Param(function)}).GetBool(0, 0) == false) {
    return std::nullopt;
  }
  // CASCADE: triggers left on partitions of sets that were cleaned up before (or renamed) go with it.
  source.Exec("DROP FUNCTION " + function + " CASCADE");
  try {
    source.Exec("DROP SCHEMA " + pg::QuoteIdent(schema));  // only when nothing else is in it
  } catch (const Error& e) {
    if (e.sqlstate() != "2BP01") throw;  // dependent_objects_still_exist: somebody else's objects; kept
  }
  return function;
}

std::set<pg::TableName> CoveredRelations(pg::Connection& source, const std::string& publication) {
  pg::Result r = source.Exec(sql::Get("control/truncate_capture_relations"), {pg::Param(publication)});
  std::set<pg::TableName> out;
  for (int i = 0; i < r.rows(); ++i) out.insert({std::string(r.Get(i, 0)), std::string(r.Get(i, 1))});
  return out;
}

bool Covers(const std::set<pg::TableName>& covered, const TruncatedPartition& p) {
  return covered.contains(p.root) || covered.contains(p.partition);
}

std::optional<TruncatedPartition> ParseTruncateMessage(std::string_view content) {
  std::string parts[4];
  for (std::string& part : parts) {
    size_t end = content.find('\0');
    if (end == std::string_view::npos || end == 0) return std::nullopt;
    part = std::string(content.substr(0, end));
    content.remove_prefix(end + 1);
  }
  if (!content.empty()) return std::nullopt;
  return TruncatedPartition{{parts[0], parts[1]}, {parts[2], parts[3]}};
}

}  // namespace walferry::control
