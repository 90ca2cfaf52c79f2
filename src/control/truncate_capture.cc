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
  const pg::ServerFeatures features = pg::FeaturesOf(source.ServerVersionNum());
  if (!features.publish_via_partition_root) {
    result.supported = false;
    return result;
  }
  std::vector<pg::TableName> missing = Leaves(source, publication, false);
  const pg::TableName table{schema, kTruncateTable};
  const bool by_table = !features.logical_messages;  // 13: announced by a row (header)
  // On 13 the table must be in this publication even when every leaf has its trigger already (another set's).
  // Read first: a CDC start during a cutover finds the source read-only, and must then change nothing.
  const bool table_missing = by_table && !source.Exec(sql::Get("control/publication_holds_table"),
                                                      {pg::Param(publication), pg::Param(table.schema),
                                                       pg::Param(table.name)})
                                              .GetBool(0, 0) &&
                             (!missing.empty() || !Leaves(source, publication, true).empty());
  if (missing.empty() && !table_missing) return result;
  try {
    WithContext("creating walferry's partition TRUNCATE trigger function " + pg::QuoteIdent(schema) +
                    ".partition_truncated() on the source",
                [&] {
                  const std::string write =
                      by_table ? "INSERT INTO " + table.Quoted() +
                                     " (partition_schema, partition_name, root_schema, root_name) VALUES "
                                     "(p_schema, p_name, r_schema, r_name)"
                               : "PERFORM pg_logical_emit_message(true, '" + std::string(kTruncateMessagePrefix) +
                                     "', convert_to(p_schema, 'UTF8') || '\\x00'::bytea || "
                                     "convert_to(p_name, 'UTF8') || '\\x00'::bytea || "
                                     "convert_to(r_schema, 'UTF8') || '\\x00'::bytea || "
                                     "convert_to(r_name, 'UTF8') || '\\x00'::bytea)";
                  std::string function = WithSchema(sql::Get("control/truncate_capture_function"), schema);
                  function.replace(function.find("@WRITE@"), 7, write);
                  // Workers of other sets may do the same at the same moment: concurrent CREATE OR REPLACE of
                  // one function fails ("tuple concurrently updated"), so one at a time.
                  pg::InTransaction(source, [&] {
                    source.Exec("SELECT pg_advisory_xact_lock(hashtext('walferry_partition_truncate'))");
                    source.Exec(function);
                    if (!by_table) return;
                    source.Exec("CREATE TABLE IF NOT EXISTS " + table.Quoted() +
                                " (id bigserial PRIMARY KEY, partition_schema text NOT NULL, partition_name text "
                                "NOT NULL, root_schema text NOT NULL, root_name text NOT NULL, at timestamptz NOT "
                                "NULL DEFAULT now())");
                    if (table_missing) {
                      source.Exec("ALTER PUBLICATION " + pg::QuoteIdent(publication) + " ADD TABLE ONLY " +
                                  table.Quoted());
                    }
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
  if (!pg::FeaturesOf(source.ServerVersionNum()).publish_via_partition_root) return {};
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
  // 13's table of announcements (leaving any publication that still holds it).
  source.Exec("DROP TABLE IF EXISTS " + pg::TableName{schema, kTruncateTable}.Quoted());
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

bool IsTruncateTable(const pg::TableName& relation, const std::string& schema) {
  return relation.schema == schema && relation.name == kTruncateTable;
}

std::optional<TruncatedPartition> TruncatedPartitionOf(const std::vector<std::string>& columns,
                                                       const std::vector<std::optional<std::string>>& values) {
  auto get = [&](std::string_view name) -> std::optional<std::string> {
    for (size_t i = 0; i < columns.size() && i < values.size(); ++i) {
      if (columns[i] == name && values[i] && !values[i]->empty()) return values[i];
    }
    return std::nullopt;
  };
  auto ps = get("partition_schema"), pn = get("partition_name"), rs = get("root_schema"), rn = get("root_name");
  if (!ps || !pn || !rs || !rn) return std::nullopt;
  return TruncatedPartition{{*ps, *pn}, {*rs, *rn}};
}

}  // namespace walferry::control
