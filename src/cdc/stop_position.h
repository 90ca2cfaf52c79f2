// cdc/stop_position.h
//
// Where a run that must end "caught up" stops on the source: `walferry cdc --until-caught-up`, `walferry migrate
// --until-caught-up` (and the demo), and the cutover's final position once writes are stopped. One definition, so
// that the three never disagree.
//
// The position must be (a) at or past the commit record of every transaction committed before it was taken, and
// (b) reachable by the WAL end of a keepalive on a source that stays idle afterwards: CDC ends at a stop position
// once a keepalive reports the walsender's WAL end at or past it while nothing is open (cdc::ExactlyOnce::State),
// and that WAL end is always the END of the last record decoded, which a record that ends exactly at a page end
// puts ON the page boundary. pg_current_wal_insert_lsn() then points just past the next page's header, 24 bytes
// (40 at a segment start) beyond anything a keepalive can report until more WAL is written: with no heartbeat,
// maybe never. pg_current_wal_lsn() and pg_current_wal_flush_lsn() are no better: they can stop at a page
// boundary in the middle of a record (WAL is written in whole pages) and, with asynchronous commits, before a
// commit. So: a synchronous commit of walferry's own (src/sql/cdc/flush_source_wal.sql: a transaction with an xid
// that writes an empty non-transactional logical message, so that its commit is really synchronous) flushes the
// source's WAL through every record before it, then the insert position is read and moved back over a page header
// it points just past (RecordEnd). Written there: an empty message (no slot outputs the transaction: it has no
// change).
#pragma once

#include <cstdint>

#include "common/lsn.h"
#include "pg/connection.h"

namespace walferry::cdc {

// The stop position as described above. Throws Error from the server (e.g. on a standby, which has no insert
// position).
Lsn SourceStopPosition(pg::Connection& source);

// Pure: `insert` (a WAL insert position) as the end of the record before it: moved back to the page boundary when
// it points just past a page header (SizeOfXLogShortPHD = 24 bytes; SizeOfXLogLongPHD = 40 at the start of a
// segment); otherwise unchanged. No record starts or ends inside a page header, so "commits before `insert`" and
// "commits before the result" are the same transactions.
Lsn RecordEnd(Lsn insert, uint64_t wal_block_size, uint64_t wal_segment_size);

}  // namespace walferry::cdc
