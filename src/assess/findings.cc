// assess/findings.cc: per-table and source-wide findings, each with its reason and fix. Pure.
#include <algorithm>
#include <cmath>
#include <optional>

#include "assess/assessment.h"
#include "pg/quote.h"

namespace walferry::assess {

namespace {

constexpr uint32_t kTextOid = 25, kVarcharOid = 1043, kByteaOid = 17, kJsonOid = 114, kJsonbOid = 3802,
                   kXmlOid = 142, kOidOid = 26;

std::string Join(const std::vector<std::string>& items, const std::string& sep = ", ") {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

void AddCare(TableAssessment& t) {
  for (const auto& c : t.info.columns) {
    auto add = [&](std::string kind, std::string advice) {
      t.care.push_back({c.name, c.type_name, std::move(kind), std::move(advice)});
    };
    if (c.generated) add("generated", "computed by the target; walferry does not copy its values");
    if (c.identity) {
      add("identity", "values are copied as they are; advance the target's identity sequence at cutover");
    }
    if (c.type_category == 'A') add("array", "carried as is; the element type must exist on the target");
    if (c.type_kind == 'e') add("enum", "the enum type must exist on the target with the same labels, in order");
    if (c.type_kind == 'd') add("domain", "the domain must exist on the target with the same constraints");
    if (c.type_kind == 'c') add("composite", "the composite type must exist on the target");
    if (c.type_kind == 'b' && c.type_category != 'A' && c.type_schema != "pg_catalog") {
      add("extension_type", "type from schema " + c.type_schema + ": install its extension on the target first");
    }
  }
}

// REPLICA IDENTITY fix: USING INDEX on a unique index over NOT NULL columns when there is one, else FULL.
std::string ReplicaIdentityFix(const TableAssessment& t) {
  std::string table = t.info.name.Quoted();
  for (const auto& u : t.unique_indexes) {
    bool all_not_null = !u.columns.empty();
    for (const auto& col : u.columns) {
      const auto* c = t.info.FindColumn(col);
      if (c == nullptr || !c->not_null) all_not_null = false;
    }
    if (all_not_null) {
      return "ALTER TABLE " + table + " REPLICA IDENTITY USING INDEX " + pg::QuoteIdent(u.name) +
             "; (or add a primary key)";
    }
  }
  return "ALTER TABLE " + table + " ADD PRIMARY KEY (...); or, when no column set is unique: ALTER TABLE " + table +
         " REPLICA IDENTITY FULL;";
}

}  // namespace

std::optional<std::string> GeneratedIdentityColumn(const catalog::TableInfo& info) {
  const std::vector<std::string>* key = info.replica_identity == 'd'   ? &info.primary_key
                                        : info.replica_identity == 'i' ? &info.replica_identity_index
                                                                       : nullptr;
  if (key == nullptr) return std::nullopt;
  for (const auto& c : info.columns) {
    if (c.generated && std::find(key->begin(), key->end(), c.name) != key->end()) return c.name;
  }
  return std::nullopt;
}

bool IsLobColumn(const catalog::ColumnInfo& c) {
  switch (c.type_oid) {
    case kTextOid: case kByteaOid: case kJsonOid: case kJsonbOid: case kXmlOid: case kOidOid:
      return true;
    case kVarcharOid:
      return c.type_name == "character varying";  // no length limit
    default:
      return false;
  }
}

bool TableAssessment::HasFinding(const std::string& code) const {
  return std::any_of(findings.begin(), findings.end(), [&](const Finding& f) { return f.code == code; });
}

int64_t TableAssessment::MaxLobBytes() const {
  int64_t m = 0;
  for (const auto& l : lob_columns) m = std::max(m, l.max_bytes);
  return m;
}

std::optional<config::LobSettings> TableAssessment::RecommendedLob() const {
  if (!lob_measured || MaxLobBytes() == 0) return std::nullopt;
  double with_headroom_kb = static_cast<double>(MaxLobBytes()) * 1.25 / 1024.0;
  auto kb = static_cast<int64_t>(std::ceil(with_headroom_kb / 64.0)) * 64;
  return config::LobSettings{.max_kb = std::max<int64_t>(kb, 64), .policy = config::LobPolicy::kError};
}

bool BlocksLoad(const Finding& f) { return f.code == "no_replica_identity" || f.code == "generated_key"; }

void ComputeFindings(TableAssessment& t) {
  t.findings.clear();
  t.care.clear();
  AddCare(t);
  const auto& info = t.info;
  if (info.persistence == 'u') {
    t.findings.push_back({"unlogged", "unlogged tables write no WAL, so logical replication cannot carry their changes",
                          "ALTER TABLE " + info.name.Quoted() + " SET LOGGED; (or copy it separately at cutover)"});
    return;
  }
  if (info.relkind == 'p') {
    t.findings.push_back({"partitioned",
                          "partitioned table with " + std::to_string(t.partitions) +
                              " partitions: published through its root (publish_via_partition_root), so changes "
                              "arrive under the root's name; a TRUNCATE of one partition is carried by a walferry "
                              "trigger on each partition (PostgreSQL 14+), applied to the same partition on the "
                              "target",
                          "none needed; create the partitioned table (and partitions) on the target"});
  }
  bool has_pk = !info.primary_key.empty();
  if (has_pk && !t.unique_indexes.empty()) {
    std::vector<std::string> names;
    for (const auto& u : t.unique_indexes) names.push_back(u.name + " (" + Join(u.columns) + ")");
    t.findings.push_back({"pk_and_unique",
                          "primary key (" + Join(info.primary_key) + ") and separate unique " + Join(names) +
                              ": applying changes out of source order can violate the unique constraint",
                          "apply this table's changes in source order: apply: transactional (plan sets it)"});
  }
  bool no_identity = info.replica_identity == 'n' || (info.replica_identity == 'd' && !has_pk) ||
                     (info.replica_identity == 'i' && info.replica_identity_index.empty());
  if (no_identity) {
    t.findings.push_back({"no_replica_identity",
                          "no primary key and no replica identity: the source rejects UPDATE and DELETE on it once "
                          "it is published, and they cannot be replicated",
                          ReplicaIdentityFix(t)});
  } else if (std::optional<std::string> generated = GeneratedIdentityColumn(info);
             generated && !t.source_publishes_generated_columns) {
    // pgoutput sends no generated column before PostgreSQL 18, not even as the key of an UPDATE or DELETE.
    t.findings.push_back({"generated_key",
                          "the replica identity (" + std::string(info.replica_identity == 'i' ? "USING INDEX" :
                                                                 "primary key") +
                              ") includes the generated column " + pg::QuoteIdent(*generated) +
                              ": logical replication sends no generated column before PostgreSQL 18, so UPDATEs "
                              "and DELETEs of this table cannot be matched on the target (walferry load refuses "
                              "it; a PostgreSQL 18 source would carry it: publish_generated_columns = stored)",
                          "ALTER TABLE " + info.name.Quoted() +
                              " REPLICA IDENTITY FULL; (or USING INDEX a unique index over columns that are not "
                              "generated), or exclude the table"});
  } else if (generated) {
    t.findings.push_back({"generated_key_published",
                          "the replica identity includes the stored generated column " + pg::QuoteIdent(*generated) +
                              ": carried because the source (PostgreSQL 18+) publishes it: the publication of this "
                              "table's set sends every stored generated column of the set's tables "
                              "(publish_generated_columns = stored); the target computes the column and walferry "
                              "only matches rows by it",
                          "none needed"});
  } else if (info.replica_identity == 'f') {
    t.findings.push_back({"replica_identity_full",
                          "REPLICA IDENTITY FULL: every UPDATE/DELETE logs the whole old row and the target finds "
                          "the row by all columns (slow on large tables)",
                          "add a primary key, or ALTER TABLE " + info.name.Quoted() +
                              " REPLICA IDENTITY USING INDEX <unique index on NOT NULL columns>;"});
  }
  if (!t.can_select) {
    t.findings.push_back({"no_select", "the role cannot SELECT this table: it can neither be measured nor copied",
                          "GRANT SELECT ON " + info.name.Quoted() + " TO <walferry role>;"});
  }
  // Values under 32 KB (the default LOB size of DMS's limited LOB mode) need no limit anywhere: no finding.
  if (t.lob_measured && t.MaxLobBytes() >= kLobFindingBytes) {
    auto rec = t.RecommendedLob();
    std::string reason = "largest LOB value " + std::to_string((t.MaxLobBytes() + 1023) / 1024) + " KB" +
                         (t.lob_estimated ? " (estimate from a sample)" : "");
    if (t.rows_over_limit) reason += "; " + std::to_string(*t.rows_over_limit) + " rows exceed the given limit";
    std::string fix = "lob: {max_kb: " + std::to_string(*rec->max_kb) +
                      "} (measured maximum + 25% headroom) for DMS mappings; walferry itself carries every value whole";
    t.findings.push_back({"lob", reason, fix});
  }
}

std::vector<Finding> SourceFindings(const Assessment& a) {
  std::vector<Finding> out;
  std::vector<std::string> seqs, foreign, temp;
  for (const auto& o : a.others) {
    (o.kind == "sequence" ? seqs : o.kind == "foreign" ? foreign : temp).push_back(o.name.Display());
  }
  if (!seqs.empty()) {
    out.push_back({"sequences", std::to_string(seqs.size()) + " sequences (" + Join(seqs) +
                                    "): logical replication does not carry sequence values",
                   "at cutover, set each target sequence to the source's value (SELECT setval(...))"});
  }
  if (!foreign.empty()) {
    out.push_back({"foreign_tables", "foreign tables " + Join(foreign) + ": their rows live on another server",
                   "recreate the foreign server and tables on the target; they are not copied"});
  }
  if (!temp.empty()) {
    out.push_back({"temporary_tables", "temporary tables " + Join(temp) + ": session-private, never replicated",
                   "none: they vanish with their sessions"});
  }
  if (a.large_objects > 0) {
    out.push_back({"large_objects",
                   std::to_string(a.large_objects) + " large objects in pg_largeobject (" +
                       std::to_string(a.large_object_bytes / 1024) +
                       " KB): logical replication does not carry them",
                   "copy them at cutover while writes are stopped (pg_dump --large-objects --data-only), or move "
                   "them into bytea columns"});
  }
  return out;
}

}  // namespace walferry::assess
