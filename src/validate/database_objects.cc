#include "validate/database_objects.h"

#include <map>

#include "catalog/sequence_values.h"
#include "common/error.h"
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

std::map<std::string, SequenceState> Sequences(pg::Connection& conn, const std::vector<std::string>& schemas) {
  pg::Result r = conn.Exec(sql::Get("validate/sequences"), {pg::Param(pg::TextArray(schemas))});
  std::map<std::string, SequenceState> out;
  std::vector<pg::TableName> not_called;  // pg_sequences shows no last_value: read from the sequence itself
  std::map<std::string, std::string> increments;
  for (int i = 0; i < r.rows(); ++i) {
    pg::TableName name{std::string(r.Get(i, 0)), std::string(r.Get(i, 1))};
    out[name.Quoted()] = {name, std::string(r.Get(i, 2)), r.GetBool(i, 3), r.GetBool(i, 4)};
    if (r.GetBool(i, 4) && r.GetBool(i, 5)) {
      not_called.push_back(name);
      increments[name.Quoted()] = std::string(r.Get(i, 6));
    }
  }
  for (const catalog::SequenceValue& v : catalog::ReadSequenceValues(conn, not_called)) {
    // Not called (fresh, or setval(s, n, false)): nextval() returns last_value. Called in the meantime (rare): the
    // one after it, added by the server in numeric (bigint plus bigint may pass bigint's range).
    std::string next = v.last_value;
    if (v.is_called) {
      next = std::string(conn.Exec("SELECT ($1::numeric + $2::numeric)::text",
                                   {pg::Param(v.last_value), pg::Param(increments[v.name.Quoted()])})
                             .Get(0, 0));
    }
    out[v.name.Quoted()].next = next;
  }
  return out;
}

void CompareSequences(pg::Connection& source, pg::Connection& target, const std::vector<std::string>& schemas,
                      ObjectsResult& result) {
  std::map<std::string, SequenceState> src = Sequences(source, schemas);
  std::map<std::string, SequenceState> dst = Sequences(target, schemas);
  for (const auto& [name, s] : src) {
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

void CompareLargeObjects(pg::Connection& source, pg::Connection& target, ObjectsResult& result) {
  result.large_objects_compared = true;
  std::map<std::string, LargeObject> src = LargeObjects(source);
  std::map<std::string, LargeObject> dst = LargeObjects(target);
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
  for (const auto& [oid, t] : dst) {
    if (!src.contains(oid)) {
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
                                     const std::vector<std::string>& schemas, bool large_objects) {
  ObjectsResult result;
  WithContext("comparing sequences", [&] { CompareSequences(source, target, schemas, result); });
  if (large_objects) WithContext("comparing large objects", [&] { CompareLargeObjects(source, target, result); });
  return result;
}

}  // namespace walferry::validate
