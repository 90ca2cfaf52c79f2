#include "validate/database_objects.h"

#include <map>
#include <set>

#include "catalog/sequence_values.h"
#include "common/error.h"
#include "control/copied_large_objects.h"
#include "pg/quote.h"
#include "sql/sql.h"

namespace walferry::validate {

namespace {

// -1, 0, 1 as a < b, a == b, a > b for decimal integers of any length.
int CompareIntegers(const std::string& a, const std::string& b) {
  auto valid = [](const std::string& s) {
    size_t start = (!s.empty() && s[0] == '-') ? 1 : 0;
    if (s.size() == start) return false;
    for (size_t i = start; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
    }
    return true;
  };
  if (!valid(a) || !valid(b)) throw Error(ErrorKind::kInternal, "not an integer: '" + a + "' or '" + b + "'");
  auto strip = [](std::string s) {  // no leading zeros, no "-0"
    bool negative = s[0] == '-';
    s.erase(0, negative ? 1 : 0);
    s.erase(0, std::min(s.find_first_not_of('0'), s.size() - 1));
    return std::pair{negative && s != "0", s};
  };
  auto [neg_a, abs_a] = strip(a);
  auto [neg_b, abs_b] = strip(b);
  if (neg_a != neg_b) return neg_a ? -1 : 1;
  int magnitude = abs_a.size() != abs_b.size() ? (abs_a.size() < abs_b.size() ? -1 : 1) : abs_a.compare(abs_b);
  magnitude = magnitude < 0 ? -1 : (magnitude > 0 ? 1 : 0);
  return neg_a ? -magnitude : magnitude;
}

struct SequenceState {
  pg::TableName name;
  std::string next;  // the value nextval() returns next
  bool ascending = true;
  bool readable = true;
};

// The migration's sequences (catalog::SequencesOfSchemas) with the value its next nextval() returns, read from the sequence itself (pg_sequences
// hides the state of one not called: catalog/sequence_values.h). Unreadable ones are listed with readable = false.
std::map<std::string, SequenceState> Sequences(pg::Connection& conn, const std::vector<std::string>& schemas) {
  std::map<std::string, SequenceState> out;
  std::vector<pg::TableName> readable;
  std::vector<std::string> increments;
  for (const catalog::SequenceInfo& info : catalog::SequencesOfSchemas(conn, schemas)) {
    out[info.name.Quoted()] = {info.name, "", info.ascending, info.readable};
    if (!info.readable) continue;
    readable.push_back(info.name);
    increments.push_back(info.increment);
  }
  std::vector<std::string> next =
      catalog::NextSequenceValues(conn, catalog::ReadSequenceValues(conn, readable), increments);
  for (size_t i = 0; i < readable.size(); ++i) out[readable[i].Quoted()].next = next[i];
  return out;
}

void CompareSequences(pg::Connection& source, pg::Connection& target, const std::vector<std::string>& schemas,
                      SequenceScope scope, ObjectsResult& result) {
  std::map<std::string, SequenceState> src = Sequences(source, schemas);
  std::map<std::string, SequenceState> dst = Sequences(target, schemas);
  for (const auto& [name, s] : src) {
    if (scope == SequenceScope::kOnBothSides && dst.count(name) == 0) continue;
    ++result.sequences;
    if (!s.readable) {
      throw Error(ErrorKind::kPrecondition, "sequence " + name + " cannot be read on the source by this role")
          .WithHint("GRANT SELECT ON SEQUENCE " + name + " to walferry's role (docs/validate.md, Privileges)");
    }
    auto it = dst.find(name);
    if (it == dst.end()) {
      result.differences.push_back(
          {"SEQUENCE_BEHIND", name, "absent on the target; next value on the source " + s.next, s.name, {}});
      continue;
    }
    if (!it->second.readable) {
      throw Error(ErrorKind::kPrecondition, "sequence " + name + " cannot be read on the target by this role")
          .WithHint("GRANT SELECT ON SEQUENCE " + name + " to walferry's role on the target");
    }
    if (SequenceBehind(s.next, it->second.next, s.ascending)) {
      result.differences.push_back(
          {"SEQUENCE_BEHIND", name, "next value: source " + s.next + ", target " + it->second.next, s.name, {}});
    }
  }
}

struct LargeObject {
  std::string md5;
  std::string bytes;
  std::string owner;
};

std::map<std::string, LargeObject> LargeObjects(pg::Connection& conn) {
  pg::Result r = conn.Exec(sql::Get("lifecycle/large_object_digests"));
  std::map<std::string, LargeObject> out;
  for (int i = 0; i < r.rows(); ++i) {
    out[std::string(r.Get(i, 0))] = {std::string(r.Get(i, 1)), std::string(r.Get(i, 2)), std::string(r.Get(i, 3))};
  }
  return out;
}

ObjectDifference LoDiff(const std::string& oid, std::string details) {
  return {"LO_DIFF", oid, std::move(details), {"pg_catalog", "pg_largeobject"}, oid};
}

void CompareLargeObjects(pg::Connection& source, pg::Connection& target, const std::string& control_schema,
                         ObjectsResult& result) {
  result.large_objects_compared = true;
  std::map<std::string, LargeObject> src = LargeObjects(source);
  std::map<std::string, LargeObject> dst = LargeObjects(target);
  // Another migration's copies on the source side are not this one's to compare (control/copied_large_objects.h).
  for (const std::string& oid : control::OtherMigrationsLargeObjects(source, control_schema)) src.erase(oid);
  result.large_objects = static_cast<int64_t>(src.size());
  for (const auto& [oid, s] : src) {
    auto it = dst.find(oid);
    if (it == dst.end()) {
      result.differences.push_back(LoDiff(oid, "absent on the target (" + s.bytes + " bytes on the source)"));
    } else if (it->second.md5 != s.md5) {
      result.differences.push_back(LoDiff(oid, "contents differ: source " + s.bytes + " bytes, md5 " + s.md5 +
                                                        "; target " + it->second.bytes + " bytes, md5 " +
                                                        it->second.md5));
    } else if (it->second.owner != s.owner) {
      result.differences.push_back(LoDiff(oid, "owner: source " + pg::QuoteIdent(s.owner) + ", target " +
                                                        pg::QuoteIdent(it->second.owner)));
    }
  }
  // A large object only the target has is a difference when it is the migration's; any other is another
  // application's or migration's (control/copied_large_objects.h).
  const std::set<std::string> ours = control::MigrationLargeObjects(source, target, control_schema);
  for (const auto& [oid, t] : dst) {
    if (!src.contains(oid) && ours.contains(oid)) {
      result.differences.push_back(LoDiff(oid, "extra on the target (" + t.bytes + " bytes); not on the source"));
    }
  }
}

}  // namespace

bool SequenceBehind(const std::string& source, const std::string& target, bool ascending) {
  int c = CompareIntegers(target, source);
  return ascending ? c < 0 : c > 0;
}

ObjectsResult CompareDatabaseObjects(pg::Connection& source, pg::Connection& target,
                                     const std::vector<std::string>& schemas, bool large_objects,
                                     const std::string& control_schema, SequenceScope scope) {
  ObjectsResult result;
  WithContext("comparing sequences", [&] { CompareSequences(source, target, schemas, scope, result); });
  if (large_objects) {
    WithContext("comparing large objects", [&] { CompareLargeObjects(source, target, control_schema, result); });
  }
  return result;
}

}  // namespace walferry::validate
