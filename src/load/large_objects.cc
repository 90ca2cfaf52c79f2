#include "load/large_objects.h"

#include <chrono>
#include <map>
#include <set>
#include <vector>

#include "common/error.h"
#include "common/log.h"
#include "control/copied_large_objects.h"
#include "load/table_copy.h"
#include "pg/connection.h"
#include "pg/quote.h"
#include "sql/sql.h"

namespace walferry::load {

namespace {

constexpr int64_t kChunkBytes = 1024 * 1024;

// Names the colliding large objects (at most 10 listed) and says what to do.
[[noreturn]] void RefuseCollisions(const std::vector<std::string>& oids, const std::string& target_name,
                                   const std::string& source_name) {
  std::string list;
  for (size_t i = 0; i < oids.size() && i < 10; ++i) list += (i ? ", " : "") + oids[i];
  if (oids.size() > 10) list += ", ... (" + std::to_string(oids.size()) + " in all)";
  throw Error(ErrorKind::kData, std::string(oids.size() == 1 ? "large object " : "large objects ") + list + " on the " +
                                    target_name + " collide with the " + source_name +
                                    "'s and were not copied by this migration")
      .WithDetail("walferry never overwrites a large object it did not copy (another application's or another "
                  "migration's, or a copy by a walferry older than the record in copied_large_objects); nothing was "
                  "copied")
      .WithHint("if the " + target_name + "'s are not needed, remove them there (SELECT lo_unlink(" + oids.front() +
                ") ...) and run again; otherwise the two cannot share one database: their OIDs collide");
}

std::vector<std::string> Present(pg::Connection& target, const std::vector<std::string>& oids) {
  pg::Result r = target.Exec(sql::Get("load/large_objects_present"), {pg::Param(pg::TextArray(oids))});
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.Get(i, 0));
  return out;
}

struct Digest {
  std::string md5;
  std::string owner;
};

std::map<std::string, Digest> Digests(pg::Connection& c) {
  std::map<std::string, Digest> out;
  pg::Result r = c.Exec(sql::Get("lifecycle/large_object_digests"));
  for (int i = 0; i < r.rows(); ++i) out[std::string(r.Get(i, 0))] = {std::string(r.Get(i, 1)), std::string(r.Get(i, 3))};
  return out;
}

}  // namespace

int64_t CopyContents(pg::Connection& source, pg::Connection& target, const std::string& oid) {
  int64_t offset = 0;
  for (;;) {
    pg::Result chunk = source.Exec("SELECT encode(pg_catalog.lo_get($1::oid, $2::bigint, $3::int), 'hex')",
                                   {pg::Param(oid), pg::Param(std::to_string(offset)),
                                    pg::Param(std::to_string(kChunkBytes))});
    std::string_view hex = chunk.Get(0, 0);
    if (hex.empty()) return offset;
    target.Exec("SELECT pg_catalog.lo_put($1::oid, $2::bigint, decode($3, 'hex'))",
                {pg::Param(oid), pg::Param(std::to_string(offset)), pg::Param(std::string(hex))});
    const int64_t n = static_cast<int64_t>(hex.size() / 2);
    offset += n;
    if (n < kChunkBytes) return offset;
  }
}

LargeObjectResult CopyLargeObjects(const std::string& source_conninfo, const std::string& target_conninfo,
                                   const std::string& snapshot, const std::string& control_schema) {
  return WithContext("copying large objects", [&] {
    auto start = std::chrono::steady_clock::now();
    LargeObjectResult result;
    pg::Connection source = pg::Connection::Open(source_conninfo, {.role = "source"});
    ImportSnapshot(source, snapshot);
    pg::Result oids = source.Exec(sql::Get("load/large_objects"));
    if (oids.rows() == 0) {
      source.Exec("COMMIT");
      return result;
    }
    pg::Connection target = pg::Connection::Open(target_conninfo, {.role = "target"});
    std::vector<std::string> all;
    for (int i = 0; i < oids.rows(); ++i) all.emplace_back(oids.Get(i, 0));
    const std::set<std::string> ours = control::CopiedLargeObjects(target, control_schema);
    std::set<std::string> there;
    std::vector<std::string> foreign;
    for (const std::string& oid : Present(target, all)) {
      there.insert(oid);
      if (!ours.contains(oid)) foreign.push_back(oid);
    }
    if (!foreign.empty()) RefuseCollisions(foreign, "target", "source");
    pg::InTransaction(target, [&] {
      control::EnsureCopiedLargeObjects(target, control_schema);
      for (const std::string& oid : all) {
        WithContext("large object " + oid, [&] {
          if (there.contains(oid)) {  // the migration's, from an earlier run
            target.Exec("SELECT pg_catalog.lo_unlink($1::oid)", {pg::Param(oid)});
            ++result.replaced;
          }
          target.Exec("SELECT pg_catalog.lo_create($1::oid)", {pg::Param(oid)});
          result.bytes += CopyContents(source, target, oid);
          control::RememberCopiedLargeObject(target, control_schema, oid);
        });
        ++result.count;
      }
    });
    source.Exec("COMMIT");
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    log::For("load")->info("copied {} large objects ({} bytes, {} replaced an object with the same OID on the target) "
                           "in {:.2f} s",
                           result.count, result.bytes, result.replaced, result.seconds);
    return result;
  });
}

LargeObjectSync SyncLargeObjects(pg::Connection& source, pg::Connection& target, const std::string& control_schema,
                                 const std::string& source_name, const std::string& target_name) {
  LargeObjectSync out;
  std::map<std::string, Digest> src = Digests(source);
  const std::map<std::string, Digest> dst = Digests(target);
  const std::set<std::string> ours = control::MigrationLargeObjects(source, target, control_schema);
  // Another migration's copies on the source side (the switch back from a target two sources fed) stay there.
  for (const std::string& oid : control::OtherMigrationsLargeObjects(source, control_schema)) src.erase(oid);
  std::vector<std::string> foreign;
  for (const auto& [oid, digest] : src) {
    if (dst.contains(oid) && !ours.contains(oid)) foreign.push_back(oid);
  }
  if (!foreign.empty()) RefuseCollisions(foreign, target_name, source_name);
  out.on_source = static_cast<int64_t>(src.size());
  pg::InTransaction(target, [&] {
    control::EnsureCopiedLargeObjects(target, control_schema);
    for (const auto& [oid, digest] : src) {
      auto it = dst.find(oid);
      bool same_contents = it != dst.end() && it->second.md5 == digest.md5;
      if (!same_contents) {
        WithContext("copying large object " + oid, [&] {
          if (it != dst.end()) target.Exec("SELECT pg_catalog.lo_unlink($1::oid)", {pg::Param(oid)});
          target.Exec("SELECT pg_catalog.lo_create($1::oid)", {pg::Param(oid)});
          CopyContents(source, target, oid);
        });
        ++out.copied;
      }
      control::RememberCopiedLargeObject(target, control_schema, oid);
      if (same_contents && it->second.owner == digest.owner) continue;
      // The owner as on the source (lo_create made walferry's role the owner).
      WithContext("giving large object " + oid + " to its owner " + digest.owner + " on the " + target_name, [&] {
        target.Exec("ALTER LARGE OBJECT " + oid + " OWNER TO " + pg::QuoteIdent(digest.owner));
      });
    }
    for (const auto& [oid, digest] : dst) {
      if (src.contains(oid)) continue;
      if (!ours.contains(oid)) {
        ++out.kept;
        continue;
      }
      target.Exec("SELECT pg_catalog.lo_unlink($1::oid)", {pg::Param(oid)});
      control::ForgetCopiedLargeObject(target, control_schema, oid);
      ++out.unlinked;
    }
  });
  return out;
}

}  // namespace walferry::load
