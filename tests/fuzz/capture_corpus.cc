// fuzz/capture_corpus.cc -- remakes tests/fuzz/corpus/ from a real stream.
//
// Usage: fuzz_capture_corpus OUTPUT_DIR   (built by tests/CMakeLists.txt; runs as the harness does, see
// localcluster/local_cluster.h). Starts a throw-away source cluster, creates tables with every replica identity kind
// and a spread of column types (TOAST, arrays, an enum so Type messages appear, bytea, numeric, jsonb), runs a
// workload (inserts, updates that change keys, deletes, TRUNCATE, logical messages, a transaction big enough to
// be streamed, a prepared transaction), and reads it back through three slots: protocol 1, protocol 2 with
// streaming, protocol 3 with two_phase. Every XLogData payload is kept. Output: one file per transaction (its
// messages, at most kMaxMessages, each at most kMaxMessageBytes: the corpus stays small) in the fuzz target's
// input format: a version byte, then u16-big-endian-length-prefixed messages (see pgoutput_decoder_fuzz.cc).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <variant>
#include <vector>

#include "common/error.h"
#include "localcluster/local_cluster.h"
#include "pg/connection.h"
#include "pg/replication_stream.h"

namespace {

using namespace walferry;

constexpr size_t kMaxMessages = 40;
constexpr size_t kMaxMessageBytes = 2048;

const char* kSchema = R"sql(
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE pk (id int PRIMARY KEY, name text, m mood, tags text[], price numeric, doc jsonb, raw bytea,
                 big text);
ALTER TABLE pk ALTER COLUMN big SET STORAGE EXTERNAL;
CREATE TABLE byindex (a int NOT NULL, b int NOT NULL, note text);
CREATE UNIQUE INDEX byindex_ab ON byindex (a, b);
ALTER TABLE byindex REPLICA IDENTITY USING INDEX byindex_ab;
CREATE TABLE full_dup (a int, b text, t timestamptz, f float8);
ALTER TABLE full_dup REPLICA IDENTITY FULL;
CREATE TABLE parted (id int, region int, v text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES IN (1);
CREATE TABLE parted_2 PARTITION OF parted FOR VALUES IN (2);
CREATE TABLE parent (id int PRIMARY KEY, v text);
CREATE TABLE child (extra int) INHERITS (parent);
ALTER TABLE child ADD PRIMARY KEY (id);
CREATE PUBLICATION corpus FOR TABLE pk, byindex, full_dup, parted, parent, child
  WITH (publish_via_partition_root = true);
)sql";

const char* kWorkload = R"sql(
INSERT INTO pk VALUES (1, 'a', 'ok', '{x,y}', 1.50, '{"k": [1, 2]}', '\x00ff', NULL),
                      (2, NULL, 'sad', '{}', -0.0001, 'null', '', repeat('toast', 3000));
UPDATE pk SET name = 'b' WHERE id = 2;
UPDATE pk SET id = 3 WHERE id = 1;
BEGIN; INSERT INTO byindex VALUES (1, 1, 'n'), (1, 2, NULL); UPDATE byindex SET b = 3 WHERE b = 2;
  DELETE FROM byindex WHERE a = 1 AND b = 1; COMMIT;
INSERT INTO full_dup VALUES (1, 'same', '2024-01-01 00:00+00', 0), (1, 'same', '2024-01-01 00:00+00', 0),
                            (2, NULL, 'infinity', 'NaN');
UPDATE full_dup SET b = 'changed' WHERE ctid = (SELECT ctid FROM full_dup WHERE a = 1 LIMIT 1);
DELETE FROM full_dup WHERE a = 2;
INSERT INTO parted VALUES (1, 1, 'one'), (2, 2, 'two');
UPDATE parted SET region = 2 WHERE id = 1;
DELETE FROM parted WHERE id = 2;
INSERT INTO parent VALUES (1, 'p'); INSERT INTO child VALUES (2, 'c', 7);
UPDATE ONLY parent SET v = 'p2'; UPDATE child SET extra = 8;
DELETE FROM ONLY parent WHERE id = 1;
BEGIN; SELECT pg_logical_emit_message(true, 'walferry', 'in a transaction');
  INSERT INTO pk (id) VALUES (10); COMMIT;
SELECT pg_logical_emit_message(false, 'walferry', E'\\x00\\x01 not transactional');
BEGIN; INSERT INTO pk (id) VALUES (11); SAVEPOINT s; INSERT INTO pk (id) VALUES (12); ROLLBACK TO s; COMMIT;
ALTER TABLE pk ADD COLUMN added int DEFAULT 5;
UPDATE pk SET added = 6 WHERE id = 10;
TRUNCATE byindex, full_dup;
TRUNCATE parent CASCADE;
BEGIN; INSERT INTO full_dup SELECT g, repeat('x', 100) FROM generate_series(1, 3000) g;
  DELETE FROM full_dup WHERE a % 2 = 0; COMMIT;
BEGIN; INSERT INTO pk (id, name) VALUES (20, 'prepared'); PREPARE TRANSACTION 'corpus_gid_1';
COMMIT PREPARED 'corpus_gid_1';
BEGIN; INSERT INTO pk (id, name) VALUES (21, 'rolled back'); PREPARE TRANSACTION 'corpus_gid_2';
ROLLBACK PREPARED 'corpus_gid_2';
)sql";

struct Slot {
  std::string name;
  int version;
  std::vector<std::pair<std::string, std::string>> options;
};

void Append(std::string& out, std::string_view message) {
  message = message.substr(0, kMaxMessageBytes);
  out.push_back(static_cast<char>(message.size() >> 8));
  out.push_back(static_cast<char>(message.size() & 0xff));
  out.append(message);
}

// Reads the slot up to `until` and writes one corpus file per transaction (or streamed block); returns the count.
int Capture(const localcluster::LocalCluster& cluster, const Slot& slot, Lsn until, const std::filesystem::path& dir) {
  auto repl = pg::ReplicationConnection::Open(cluster.Uri("corpus"));
  repl.StartLogical(slot.name, Lsn(), slot.options);
  std::string current;
  size_t messages = 0;
  int files = 0;
  auto flush = [&] {
    if (messages == 0) return;
    std::string name = "v" + std::to_string(slot.version) + "-" + slot.name + "-" + std::to_string(files++);
    std::ofstream(dir / name, std::ios::binary) << static_cast<char>(slot.version - 1) << current;
    current.clear();
    messages = 0;
  };
  while (true) {
    auto msg = repl.Read(std::chrono::seconds(10));
    if (!msg) throw Error(ErrorKind::kIo, "no message for 10 s from slot " + slot.name);
    if (auto* d = std::get_if<pg::XLogData>(&*msg)) {
      if (messages < kMaxMessages) Append(current, d->payload);
      ++messages;
      char type = d->payload.empty() ? 0 : d->payload[0];
      // Commit, Stream Stop/Commit/Abort, Prepare, Commit/Rollback Prepared, a non-transactional message.
      if (std::string_view("CEcAPpKrM").find(type) != std::string_view::npos) flush();
      if (d->wal_end >= until && messages == 0) break;
    } else if (auto* k = std::get_if<pg::Keepalive>(&*msg)) {
      if (k->wal_end >= until && messages == 0) break;
      if (k->reply_requested) repl.SendStatus(k->wal_end, Lsn(), Lsn());
    } else {
      break;
    }
  }
  flush();
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_capture_corpus OUTPUT_DIR\n";
    return 2;
  }
  try {
    std::filesystem::path dir = argv[1];
    std::filesystem::create_directories(dir);
    auto cluster = localcluster::LocalCluster::Create(
        {.name = "corpus", .settings = {"logical_decoding_work_mem = 64kB", "max_prepared_transactions = 5"}});
    cluster.CreateDatabase("corpus");
    cluster.Psql("corpus", kSchema);
    std::vector<Slot> slots = {
        {"proto1", 1, {{"proto_version", "1"}, {"publication_names", "corpus"}, {"messages", "true"}}},
        {"proto2", 2,
         {{"proto_version", "2"}, {"publication_names", "corpus"}, {"messages", "true"}, {"streaming", "on"}}},
        {"proto3", 3,
         {{"proto_version", "3"}, {"publication_names", "corpus"}, {"streaming", "on"}, {"two_phase", "on"}}},
    };
    for (const Slot& s : slots) {
      cluster.Psql("corpus", "SELECT pg_create_logical_replication_slot('" + s.name + "', 'pgoutput', false, " +
                                 (s.version == 3 ? "true" : "false") + ")");
    }
    cluster.Psql("corpus", kWorkload);
    std::string lsn = cluster.Psql("corpus", "SELECT pg_current_wal_lsn()");
    Lsn until = Lsn::Parse(lsn.substr(0, lsn.find('\n')));
    for (const Slot& s : slots) std::cout << s.name << ": " << Capture(cluster, s, until, dir) << " files\n";
  } catch (const std::exception& e) {
    std::cerr << "fuzz_capture_corpus: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
