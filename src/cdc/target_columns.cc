#include "cdc/target_columns.h"

#include <algorithm>

#include "cdc/statement_builder.h"
#include "common/log.h"
#include "sql/sql.h"

namespace walferry::cdc {

TargetColumns::TargetColumns(std::string conninfo, std::string application_name)
    : conninfo_(std::move(conninfo)), application_name_(std::move(application_name)) {}

const std::vector<int>& TargetColumns::AlwaysIdentity(const Relation& rel) {
  if (auto it = cache_.find(rel.relation_id.value); it != cache_.end()) return it->second;
  const pg::TableName table = TargetTable(rel);
  std::vector<std::string> names;
  WithContext("reading the GENERATED ALWAYS identity columns of " + table.Display() + " on the target", [&] {
    if (conninfo_.empty()) throw Error(ErrorKind::kInternal, "no target conninfo for the metadata connection");
    if (!conn_) conn_.emplace(pg::Connection::Open(conninfo_, {.role = "target", .application_name = application_name_}));
    pg::Result r = conn_->Exec(sql::Get("cdc/always_identity_columns"), {pg::Param(table.schema), pg::Param(table.name)});
    for (int i = 0; i < r.rows(); ++i) names.emplace_back(r.Get(i, 0));
  });
  std::vector<int> cols = ColumnIndexes(rel, names);
  if (!cols.empty()) {
    log::For("target_apply")
        ->info("{}: GENERATED ALWAYS identity column {} on the target is never written by UPDATE; a source change "
               "of it stops the apply (docs/cdc.md \"How a change becomes SQL\")",
               table.Display(), names.front());
  }
  return cache_.insert_or_assign(rel.relation_id.value, std::move(cols)).first->second;
}

bool TargetColumns::Partitioned(const Relation& rel) {
  if (auto it = partitioned_.find(rel.relation_id.value); it != partitioned_.end()) return it->second;
  const pg::TableName table = TargetTable(rel);
  bool partitioned = false;
  WithContext("reading whether " + table.Display() + " is partitioned on the target", [&] {
    if (conninfo_.empty()) throw Error(ErrorKind::kInternal, "no target conninfo for the metadata connection");
    if (!conn_) conn_.emplace(pg::Connection::Open(conninfo_, {.role = "target", .application_name = application_name_}));
    pg::Result r = conn_->Exec(sql::Get("cdc/target_partitioned"), {pg::Param(table.schema), pg::Param(table.name)});
    partitioned = r.rows() == 1 && r.Get(0, 0) == "t";
  });
  return partitioned_.insert_or_assign(rel.relation_id.value, partitioned).first->second;
}

std::vector<int> ColumnIndexes(const Relation& rel, const std::vector<std::string>& names) {
  std::vector<int> out;
  for (size_t i = 0; i < rel.columns.size(); ++i) {
    if (std::find(names.begin(), names.end(), rel.columns[i].name) != names.end()) out.push_back(static_cast<int>(i));
  }
  return out;
}

}  // namespace walferry::cdc
