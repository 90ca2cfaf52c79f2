#include "load/large_objects.h"

#include <chrono>

#include "common/error.h"
#include "common/log.h"
#include "load/table_copy.h"
#include "pg/connection.h"
#include "sql/sql.h"

namespace walferry::load {

namespace {

constexpr int64_t kChunkBytes = 1024 * 1024;

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
                                   const std::string& snapshot) {
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
    pg::InTransaction(target, [&] {
      for (int i = 0; i < oids.rows(); ++i) {
        const std::string oid(oids.Get(i, 0));
        WithContext("large object " + oid, [&] {
          if (target.Exec("SELECT 1 FROM pg_catalog.pg_largeobject_metadata WHERE oid = $1::oid", {pg::Param(oid)})
                  .rows() > 0) {
            target.Exec("SELECT pg_catalog.lo_unlink($1::oid)", {pg::Param(oid)});
            ++result.replaced;
          }
          target.Exec("SELECT pg_catalog.lo_create($1::oid)", {pg::Param(oid)});
          result.bytes += CopyContents(source, target, oid);
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

}  // namespace walferry::load
