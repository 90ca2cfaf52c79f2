#include "cdc/stream_spill.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#include "common/error.h"

namespace walferry::cdc {
namespace {

constexpr size_t kBufferBytes = 256 << 10;
// A record longer than this is not one walferry wrote (pgoutput messages are below 1 GB: a varlena's limit).
constexpr uint32_t kMaxRecord = 1u << 30;

Error IoError(const std::string& what, const std::filesystem::path& path) {
  return Error(ErrorKind::kIo, what + " " + path.string() + ": " + std::strerror(errno))
      .WithHint("streamed transactions are kept in cdc.spill_dir (default TMPDIR) until their commit: give it room "
                "or point cdc.spill_dir at a larger disk (or set cdc.streaming: off, and the source keeps them), "
                "then run walferry cdc again: the source sends unfinished transactions again");
}

}  // namespace

StreamSpill::StreamSpill(std::filesystem::path dir) : dir_(std::move(dir)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) {
    throw Error(ErrorKind::kIo, "creating the spill directory " + dir_.string() + " for streamed transactions: " +
                                    ec.message());
  }
}

StreamSpill::~StreamSpill() {
  for (auto& [xid, file] : open_) Close(file, true);
}

void StreamSpill::Reset() {
  for (auto& [xid, file] : open_) Close(file, true);
  open_.clear();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    if (entry.path().extension() == ".spill") std::filesystem::remove(entry.path(), ec);
  }
}

void StreamSpill::Close(File& file, bool remove) {
  if (file.f != nullptr) std::fclose(file.f);
  file.f = nullptr;
  if (remove) {
    std::error_code ec;
    std::filesystem::remove(file.path, ec);
  }
}

StreamSpill::File& StreamSpill::Require(Xid xid, const char* what) {
  auto it = open_.find(xid);
  if (it == open_.end()) {
    throw Error(ErrorKind::kProtocol, std::string(what) + " of streamed transaction " + std::to_string(xid.value) +
                                          ", whose first Stream Start this session never received");
  }
  return it->second;
}

void StreamSpill::Start(Xid xid, bool first_segment) {
  if (!first_segment) {
    Require(xid, "a later Stream Start");
    return;
  }
  if (auto it = open_.find(xid); it != open_.end()) {
    Close(it->second, true);
    open_.erase(it);
  }
  File file;
  file.path = dir_ / ("xid-" + std::to_string(xid.value) + ".spill");
  file.f = std::fopen(file.path.c_str(), "w+b");
  if (file.f == nullptr) throw IoError("creating the spill file", file.path);
  std::setvbuf(file.f, nullptr, _IOFBF, kBufferBytes);
  open_.emplace(xid, std::move(file));
}

void StreamSpill::Append(Xid xid, Xid subxid, std::string_view payload) {
  File& file = Require(xid, "a change");
  if (payload.size() >= kMaxRecord) {
    throw Error(ErrorKind::kProtocol, "a streamed message of " + std::to_string(payload.size()) + " bytes");
  }
  file.first_offset.try_emplace(subxid.value, file.size);
  const auto length = static_cast<uint32_t>(payload.size());
  if (std::fwrite(&length, sizeof length, 1, file.f) != 1 ||
      (length > 0 && std::fwrite(payload.data(), length, 1, file.f) != 1)) {
    throw IoError("writing to the spill file", file.path);
  }
  file.size += sizeof length + length;
}

void StreamSpill::Abort(Xid xid, Xid subxid) {
  auto it = open_.find(xid);
  if (it == open_.end()) return;
  File& file = it->second;
  if (subxid == xid) {
    Close(file, true);
    open_.erase(it);
    return;
  }
  auto first = file.first_offset.find(subxid.value);
  if (first == file.first_offset.end()) return;  // the subtransaction sent nothing
  const uint64_t cut = first->second;
  if (std::fflush(file.f) != 0 || ftruncate(fileno(file.f), static_cast<off_t>(cut)) != 0 ||
      std::fseek(file.f, static_cast<long>(cut), SEEK_SET) != 0) {
    throw IoError("cutting back the spill file", file.path);
  }
  file.size = cut;
  // Subtransactions whose first record was cut are gone with it (they were this one's own).
  std::erase_if(file.first_offset, [cut](const auto& kv) { return kv.second >= cut; });
}

uint64_t StreamSpill::size(Xid xid) const {
  auto it = open_.find(xid);
  return it == open_.end() ? 0 : it->second.size;
}

StreamSpill::Reader StreamSpill::Read(Xid xid) {
  File& file = Require(xid, "Stream Commit");
  if (std::fflush(file.f) != 0 || std::fseek(file.f, 0, SEEK_SET) != 0) {
    throw IoError("reading back the spill file", file.path);
  }
  Reader reader(std::exchange(file.f, nullptr), file.path, file.size);
  open_.erase(xid);
  return reader;
}

void StreamSpill::Finish(Xid xid) {
  auto it = open_.find(xid);
  if (it == open_.end()) return;
  Close(it->second, true);
  open_.erase(it);
}

StreamSpill::Reader::Reader(std::FILE* f, std::filesystem::path path, uint64_t size)
    : f_(f), path_(std::move(path)), size_(size) {}

StreamSpill::Reader::Reader(Reader&& other) noexcept
    : f_(std::exchange(other.f_, nullptr)), path_(std::move(other.path_)), size_(other.size_),
      offset_(other.offset_) {}

StreamSpill::Reader::~Reader() {
  if (f_ == nullptr) return;
  std::fclose(f_);
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

bool StreamSpill::Reader::Next(std::string& out) {
  if (offset_ >= size_) return false;
  uint32_t length = 0;
  if (size_ - offset_ < sizeof length || std::fread(&length, sizeof length, 1, f_) != 1) {
    throw Error(ErrorKind::kProtocol, "spill file " + path_.string() + " ends inside a record length at offset " +
                                          std::to_string(offset_));
  }
  if (length >= kMaxRecord || size_ - offset_ - sizeof length < length) {
    throw Error(ErrorKind::kProtocol, "spill file " + path_.string() + " has a record of " + std::to_string(length) +
                                          " bytes at offset " + std::to_string(offset_) + " past its end");
  }
  out.resize(length);
  if (length > 0 && std::fread(out.data(), length, 1, f_) != 1) throw IoError("reading the spill file", path_);
  offset_ += sizeof length + length;
  return true;
}

}  // namespace walferry::cdc
