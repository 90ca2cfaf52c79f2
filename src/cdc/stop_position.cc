#include "cdc/stop_position.h"

#include <string>

#include "common/error.h"
#include "sql/sql.h"

namespace walferry::cdc {
namespace {
constexpr uint64_t kShortPageHeader = 24;  // MAXALIGN(sizeof(XLogPageHeaderData))
constexpr uint64_t kLongPageHeader = 40;   // MAXALIGN(sizeof(XLogLongPageHeaderData)): a segment's first page
}  // namespace

Lsn RecordEnd(Lsn insert, uint64_t wal_block_size, uint64_t wal_segment_size) {
  if (wal_block_size == 0 || wal_segment_size == 0) {
    throw Error(ErrorKind::kInternal, "RecordEnd: WAL block or segment size 0");
  }
  const uint64_t at = insert.value();
  if (at % wal_segment_size == kLongPageHeader) return Lsn(at - kLongPageHeader);
  if (at % wal_block_size == kShortPageHeader && at % wal_segment_size >= wal_block_size) {
    return Lsn(at - kShortPageHeader);
  }
  return insert;
}

Lsn SourceStopPosition(pg::Connection& source) {
  return WithContext("reading the source's WAL position to stop at", [&] {
    // Flushes the source's WAL through every record written so far (also asynchronous commits' records).
    source.Exec(sql::Get("cdc/flush_source_wal"));
    pg::Result r = source.Exec(sql::Get("cdc/stop_position"));
    return RecordEnd(Lsn::Parse(r.Get(0, 0)), static_cast<uint64_t>(std::stoull(std::string(r.Get(0, 1)))),
                     static_cast<uint64_t>(std::stoull(std::string(r.Get(0, 2)))));
  });
}

}  // namespace walferry::cdc
