// cdc/stop_position.h: a WAL insert position as the end of the record before it, so that a stop position is one a
// keepalive reaches on an idle source.
#include "cdc/stop_position.h"

#include <gtest/gtest.h>

namespace walferry::cdc {
namespace {

constexpr uint64_t kPage = 8192;
constexpr uint64_t kSegment = 16 << 20;

TEST(StopPosition, AnInsertPositionJustPastAPageHeaderIsMovedBackToThePageBoundary) {
  EXPECT_EQ(RecordEnd(Lsn(0x16B374000 + 24), kPage, kSegment), Lsn(0x16B374000));
  EXPECT_EQ(RecordEnd(Lsn(3 * kSegment + 5 * kPage + 24), kPage, kSegment), Lsn(3 * kSegment + 5 * kPage));
  // A segment's first page has the long header.
  EXPECT_EQ(RecordEnd(Lsn(3 * kSegment + 40), kPage, kSegment), Lsn(3 * kSegment));
  // Other page sizes (--with-wal-blocksize) and segment sizes (initdb --wal-segsize).
  EXPECT_EQ(RecordEnd(Lsn(7 * 32768 + 24), 32768, 64 << 20), Lsn(7 * 32768));
  EXPECT_EQ(RecordEnd(Lsn((1 << 20) + 40), kPage, 1 << 20), Lsn(1 << 20));
}

TEST(StopPosition, AnyOtherInsertPositionIsARecordEndAlready) {
  for (uint64_t offset : {0ULL, 8ULL, 32ULL, 40ULL, 48ULL, 8000ULL, 8184ULL}) {
    Lsn at(5 * kPage + offset);
    EXPECT_EQ(RecordEnd(at, kPage, kSegment), at) << offset;
  }
  // 24 bytes into a segment's first page is inside its long header: never an insert position; left alone.
  EXPECT_EQ(RecordEnd(Lsn(3 * kSegment + 24), kPage, kSegment), Lsn(3 * kSegment + 24));
  EXPECT_THROW(RecordEnd(Lsn(100), 0, kSegment), Error);
}

}  // namespace
}  // namespace walferry::cdc
