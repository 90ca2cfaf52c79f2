// cdc/stream_spill.h
//
// Local spill files of streamed in-progress transactions (pgoutput protocol >= 2, `streaming 'on'`; docs/cdc.md
// "Streaming of large transactions"). The walsender sends a large transaction in blocks (Stream Start .. Stream
// Stop) while it still runs, interleaved with other transactions; it is applied only at its Stream Commit. Until
// then every message of it is kept here, one file per top-level xid, exactly the bytes the walsender sent.
//
// What it does not do: decode or apply anything, decide positions (cdc/exactly_once.h), or survive a restart: the
// walsender re-sends an unfinished transaction from its start after a reconnect, so the files of a previous session
// (or process) are removed when a session starts (Reset) and never read again.
//
// Record format (private to this process, never read by another build): u32 length in host order, then the bytes.
// Subtransactions: the offset of each subxid's first record is kept; a Stream Abort of a subxid cuts the file
// back to it (as the native apply worker does, worker.c stream_abort_internal): every record after a
// subtransaction's first change belongs to it or to its own subtransactions, because one backend runs a
// transaction's statements in order and a Stream Abort is sent when the abort is decoded, before anything later.
//
// Memory: bounded by one message plus a buffer per open file (and 16 bytes per subtransaction seen); a transaction of
// any size goes to disk. Disk: the files live in `dir` (under TMPDIR), removed at commit, abort and Reset.
// Errors: Error(kIo) naming the file and errno on any failed write, read, truncate or a full disk; Error(kProtocol)
// for a record of an xid that was never started, or a file that does not read back as records.
// Thread safety: none; one per worker.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cdc/pgoutput_messages.h"

namespace walferry::cdc {

class StreamSpill {
 public:
  // dir: created if missing; nothing in it is removed until Reset().
  explicit StreamSpill(std::filesystem::path dir);
  ~StreamSpill();
  StreamSpill(const StreamSpill&) = delete;
  StreamSpill& operator=(const StreamSpill&) = delete;

  // Removes every spill file in the directory (a new session: the walsender sends unfinished transactions again).
  void Reset();

  // Stream Start of `xid`. first_segment: the file is (re)created empty. Otherwise the file must exist.
  void Start(Xid xid, bool first_segment);
  // Appends one message of the transaction `xid` (opened by Start), sent for (sub)transaction `subxid`.
  void Append(Xid xid, Xid subxid, std::string_view payload);
  // Stream Abort: subxid == xid drops the whole file; otherwise cuts it back to subxid's first record (nothing
  // when subxid sent nothing). An unknown xid is ignored (the walsender aborts only what it streamed, but an abort
  // of a transaction streamed by an earlier session may follow a reconnect).
  void Abort(Xid xid, Xid subxid);
  bool Has(Xid xid) const { return open_.contains(xid); }
  // Transactions with a file now.
  size_t open_count() const { return open_.size(); }
  // Bytes written to the file of xid so far (0 when none).
  uint64_t size(Xid xid) const;

  // Reads the file of xid back, record by record, then removes it (Finish). Use: for (auto r = spill.Read(xid);
  // r.Next(buf);) ...
  class Reader {
   public:
    Reader(Reader&&) noexcept;
    ~Reader();
    // The next record into `out` (its buffer is reused); false at the end of the file.
    bool Next(std::string& out);

   private:
    friend class StreamSpill;
    Reader(std::FILE* f, std::filesystem::path path, uint64_t size);
    std::FILE* f_;
    std::filesystem::path path_;
    uint64_t size_;
    uint64_t offset_ = 0;
  };
  // Flushes and hands the file of xid over for reading; throws Error(kProtocol) when xid has none.
  Reader Read(Xid xid);
  // Removes the file of xid (after its commit was applied). Unknown xid: nothing.
  void Finish(Xid xid);

 private:
  struct File {
    std::FILE* f = nullptr;
    std::filesystem::path path;
    uint64_t size = 0;
    std::unordered_map<uint32_t, uint64_t> first_offset;  // subxid -> offset of its first record
  };
  File& Require(Xid xid, const char* what);
  void Close(File& file, bool remove);

  std::filesystem::path dir_;
  std::unordered_map<Xid, File> open_;
};

}  // namespace walferry::cdc
