// Shared fixture for the cdc_*_test binaries: identical schemas on both sides, a publication and slot for one
// set on the source, the set's control row on the target, a walferry.yaml, and an end-to-end equality check.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <thread>
#include <random>
#include <string>
#include <vector>

#include "common/lsn.h"
#include "control/control_schema.h"
#include "control/truncate_capture.h"
#include "pg/replication_stream.h"
#include "support/clusters.h"

extern char** environ;

namespace walferry::cdctest {

// A published transaction as a witness slot (a pgoutput slot nobody reads) lists it: its commit LSN (Begin.final_lsn, where its commit record
// starts) and its end LSN (the Commit row's lsn).
struct PublishedTxn {
  Lsn commit;
  Lsn end;
};

inline std::vector<PublishedTxn> Published(pg::Connection& s, const std::string& witness, const std::string& publication) {
  pg::Result r = s.Exec(
      "SELECT lsn::text, get_byte(data, 0), encode(substring(data FROM 2 FOR 8), 'hex') "
      "FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL, 'proto_version', '1', 'publication_names', $2) "
      "WHERE get_byte(data, 0) IN (66, 67)",  // 'B', 'C'
      {pg::Param(witness), pg::Param(publication)});
  std::vector<PublishedTxn> out;
  Lsn commit;
  for (int i = 0; i < r.rows(); ++i) {
    if (r.GetInt(i, 1) == 66) {
      std::string hex(r.Get(i, 2));  // Int64 final_lsn, big-endian
      commit = Lsn::Parse(hex.substr(0, 8) + "/" + hex.substr(8, 8));
    } else {
      out.push_back({commit, Lsn::Parse(r.Get(i, 0))});
    }
  }
  return out;
}

// Starts walferry with args in the background; the caller waits for it.
inline pid_t Spawn(const std::vector<std::string>& args) { return test::SpawnWalferry(args); }

// Polls `done` every 100 ms until it holds or `limit` passes; returns whether it held.
using test::PollUntil;

// Sends SIGTERM and returns the exit status as waitpid reports it.
inline int TerminateAndWait(pid_t pid) {
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

struct CdcFixture {
  std::string db;
  std::string set;
  std::string config_path;
  std::vector<std::string> tables;  // quoted names

  // ddl runs on both sides; target_extra_ddl only on the target. Tables listed (quoted) form the set.
  static CdcFixture Create(const std::string& set, const std::string& ddl, std::vector<std::string> tables,
                           const std::string& target_extra_ddl = "") {
    CdcFixture f;
    f.db = test::FreshDatabase();
    f.set = set;
    f.tables = std::move(tables);
    test::Source().Psql(f.db, ddl);
    test::Target().Psql(f.db, ddl + ";" + target_extra_ddl);
    std::string list;
    for (const auto& t : f.tables) list += (list.empty() ? "" : ", ") + t;
    test::Source().Psql(f.db, "CREATE PUBLICATION walferry_" + set + " FOR TABLE " + list +
                                  " WITH (publish_via_partition_root = true)");
    {
      // As walferry load does before creating the slot (control/truncate_capture.h).
      pg::Connection src = test::ConnectSource(f.db);
      control::InstallTruncateCapture(src, "walferry", "walferry_" + set);
    }
    auto repl = pg::ReplicationConnection::Open(test::Source().Uri(f.db));
    try {
      repl.DropSlot("walferry_" + set);  // left over by an earlier failed run of this test
    } catch (const Error&) {
    }
    pg::CreatedSlot slot = repl.CreateLogicalSlot("walferry_" + set, pg::SnapshotAction::kNoExport);
    pg::Connection t = test::ConnectTarget(f.db);
    control::ControlSchema cs(t, "walferry");
    cs.Ensure();
    cs.UpsertSet({set, "walferry_" + set, "walferry_" + set, "", slot.consistent_point, control::LoadState::kLoaded});
    f.config_path = "/tmp/walferry-" + f.db + ".yaml";
    std::ofstream y(f.config_path);
    y << "version: 1\nsource: \"" << test::Source().Uri(f.db) << "\"\ntarget: \"" << test::Target().Uri(f.db)
      << "\"\nsets:\n  - name: " << set << "\n    apply: transactional\n    tables:\n";
    for (const auto& tbl : f.tables) {
      std::string esc;
      for (char c : tbl) esc += c == '\'' ? std::string("''") : std::string(1, c);
      y << "      - name: '" << esc << "'\n";
    }
    return f;
  }

  // Appends YAML (e.g. a "cdc:" section) to the configuration file.
  void AppendConfig(const std::string& yaml) const {
    std::ofstream y(config_path, std::ios::app);
    y << yaml;
  }

  test::CliResult Cdc(std::vector<std::string> extra = {"--until-caught-up"}) const {
    std::vector<std::string> args = {"-c", config_path, "cdc"};
    args.insert(args.end(), extra.begin(), extra.end());
    return test::RunWalferry(args);
  }

  void ExpectEqual() const {
    pg::Connection s = test::ConnectSource(db);
    pg::Connection t = test::ConnectTarget(db);
    for (const auto& tbl : tables) EXPECT_EQ(test::DiffTable(s, t, tbl), "") << tbl;
  }

  void DropSlot() const {
    auto repl = pg::ReplicationConnection::Open(test::Source().Uri(db));
    repl.DropSlot("walferry_" + set, true);
  }

  // The usual ending: `walferry cdc --until-caught-up` succeeds, every table equals the source, the slot goes.
  void CatchUpExpectEqualAndDropSlot() const {
    test::CliResult r = Cdc();
    EXPECT_EQ(r.exit_code, 0) << r.output;
    if (r.exit_code == 0) ExpectEqual();
    DropSlot();
  }
};

}  // namespace walferry::cdctest
