#include "cdc/target_columns.h"

#include <algorithm>
#include <charconv>

#include "common/log.h"
#include "sql/sql.h"

namespace walferry::cdc {
namespace {

constexpr uint32_t kFirstNormalObjectId = 16384;

enum : uint32_t {
  kInt8 = 20, kInt2 = 21, kInt4 = 23, kText = 25, kFloat4 = 700, kFloat8 = 701, kBpchar = 1042, kVarchar = 1043,
  kTime = 1083, kTimestamp = 1114, kTimestampTz = 1184, kInterval = 1186, kTimeTz = 1266, kBit = 1560,
  kVarbit = 1562, kNumeric = 1700,
};

int64_t ToInt(std::string_view s) {
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// One row of target_description.sql.
struct TargetColumn {
  std::string name;
  std::string type;          // for a placeholder cast
  std::string display_type;  // with typmod
  TypeOid base_type;
  int32_t base_typmod = -1;
  bool always_identity = false;
  bool in_key = false;
  bool generated = false;
};

bool SameTypeCarriesExactly(uint32_t type, int32_t s, int32_t t) {
  if (t == -1 || s == t) return true;
  if (s == -1) return false;  // unconstrained into constrained
  switch (type) {
    case kVarchar:
    case kVarbit:
    case kTime:
    case kTimeTz:
    case kTimestamp:
    case kTimestampTz:
      return t >= s;  // length or fractional-second precision
    case kNumeric: {
      // typmod - 4 = (precision << 16) | scale (scale: 11 bits, signed since PostgreSQL 15).
      auto scale = [](int32_t m) { return static_cast<int32_t>((static_cast<uint32_t>(m - 4) & 0x7ff) ^ 0x400) - 0x400; };
      auto precision = [](int32_t m) { return ((m - 4) >> 16) & 0xffff; };
      return scale(s) == scale(t) && precision(t) - scale(t) >= precision(s) - scale(s);
    }
    default:
      return false;  // char(n), bit(n), interval ranges: only the same typmod
  }
}

}  // namespace

bool CarriesExactly(TypeOid source, int32_t source_typmod, TypeOid target, int32_t target_typmod) {
  const uint32_t s = source.value, t = target.value;
  if (s >= kFirstNormalObjectId || t >= kFirstNormalObjectId) return true;
  if (s == t) return SameTypeCarriesExactly(s, source_typmod, target_typmod);
  switch (s) {
    case kInt2:
      return t == kInt4 || t == kInt8 || (t == kNumeric && target_typmod == -1);
    case kInt4:
      return t == kInt8 || (t == kNumeric && target_typmod == -1);
    case kInt8:
      return t == kNumeric && target_typmod == -1;
    case kFloat4:
      return t == kFloat8;
    case kVarchar:
    case kBpchar:
    case kText:
      return t == kText || (t == kVarchar && target_typmod == -1);
    default:
      return false;
  }
}

TargetColumns::TargetColumns(std::string conninfo, std::string application_name)
    : conninfo_(std::move(conninfo)), application_name_(std::move(application_name)) {}

void TargetColumns::Connect() {
  if (conn_) return;
  if (conninfo_.empty()) throw Error(ErrorKind::kInternal, "no target conninfo for the metadata connection");
  // A catalog lookup is quick: an answer that does not come within 20 s means a half-open connection.
  conn_.emplace(pg::Connection::Open(conninfo_, {.role = "target",
                                                 .application_name = application_name_,
                                                 .response_timeout = std::chrono::seconds(20)}));
  conn_->Exec("SET search_path = pg_catalog");
}

const TargetDescription& TargetColumns::Describe(const Relation& rel) {
  if (auto it = cache_.find(rel.relation_id.value); it != cache_.end()) return it->second;
  const pg::TableName table = TargetTable(rel);
  TargetDescription d;
  std::vector<TargetColumn> cols;
  WithContext("reading the description of " + table.Display() + " on the target", [&] {
    Connect();
    pg::Result r = conn_->Exec(sql::Get("cdc/target_description"), {pg::Param(table.schema), pg::Param(table.name)});
    for (int i = 0; i < r.rows(); ++i) {
      d.found = true;
      d.relkind = r.Get(i, 0).empty() ? 'r' : r.Get(i, 0).front();
      cols.push_back({std::string(r.Get(i, 1)), std::string(r.Get(i, 2)), std::string(r.Get(i, 3)),
                      TypeOid{static_cast<uint32_t>(ToInt(r.Get(i, 4)))}, static_cast<int32_t>(ToInt(r.Get(i, 5))),
                      r.Get(i, 6) == "t", r.Get(i, 7) == "t", r.Get(i, 8) == "t"});
    }
  });
  std::vector<std::string> always, key, generated;
  d.types.resize(rel.columns.size());
  for (const TargetColumn& c : cols) {
    if (c.always_identity) always.push_back(c.name);
    if (c.in_key) key.push_back(c.name);
    if (c.generated) generated.push_back(c.name);
    for (size_t i = 0; i < rel.columns.size(); ++i) {
      const RelationColumn& src = rel.columns[i];
      if (src.name != c.name) continue;
      d.types[i] = c.type;
      if (CarriesExactly(src.type_oid, src.type_modifier, c.base_type, c.base_typmod)) continue;
      std::string source_type = WithContext("naming a source column's type", [&] {
        return std::string(conn_->Exec(sql::Get("cdc/format_type"),
                                       {pg::Param(std::to_string(src.type_oid.value)),
                                        pg::Param(std::to_string(src.type_modifier))})
                               .Get(0, 0));
      });
      const std::string column = table.Display() + "." + src.name;
      throw Error(ErrorKind::kData, column + ": source type " + source_type + ", target type " + c.display_type +
                                        ": the target column cannot carry every source value exactly (the source "
                                        "column's type changed?); not applied")
          .WithHint("on the target run ALTER TABLE " + table.Quoted() + " ALTER COLUMN " + pg::QuoteIdent(src.name) +
                    " TYPE " + source_type + " (the type the source has now), then rerun walferry cdc");
    }
  }
  d.always_identity = ColumnIndexes(rel, always);
  d.unique_key = ColumnIndexes(rel, key);
  d.generated = ColumnIndexes(rel, generated);
  if (d.unique_key.size() != key.size()) d.unique_key.clear();  // the source does not send every key column
  d.generation = ++generations_;
  if (!d.always_identity.empty()) {
    log::For("target_apply")
        ->info("{}: GENERATED ALWAYS identity column {} on the target is never written by UPDATE; a source change "
               "of it stops the apply (docs/cdc.md \"How a change becomes SQL\")",
               table.Display(), always.front());
  }
  return cache_.insert_or_assign(rel.relation_id.value, std::move(d)).first->second;
}

std::vector<pg::TableName> TargetColumns::ReferencingTables(const pg::TableName& table) {
  return WithContext("reading the foreign keys into " + table.Display() + " on the target", [&] {
    Connect();
    pg::Result r = conn_->Exec(sql::Get("cdc/target_referencing"), {pg::Param(table.schema), pg::Param(table.name)});
    std::vector<pg::TableName> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back({std::string(r.Get(i, 0)), std::string(r.Get(i, 1))});
    return out;
  });
}

std::vector<int> ColumnIndexes(const Relation& rel, const std::vector<std::string>& names) {
  std::vector<int> out;
  for (size_t i = 0; i < rel.columns.size(); ++i) {
    if (std::find(names.begin(), names.end(), rel.columns[i].name) != names.end()) out.push_back(static_cast<int>(i));
  }
  return out;
}

}  // namespace walferry::cdc
