// serve/observation.h
//
// One reading of everything `walferry serve` shows: the status document (serve::StatusJson, the same as
// `walferry status --json`) and what the metrics and the page add to it: the source's WAL position, each set's
// load state and raw CDC state, the CDC process's counters, the load's progress per table with the source's size
// estimates, the slots' decoding statistics, validation differences, the cutover's step and downtime, the newest
// apply exceptions. Everything comes from the control schema (target) and the source, never from the process's own
// memory, so a serve in another process or on another host shows the same. Read-only, in one snapshot per server
// (a transaction of its own on each connection, which must not be in one already). Holds no secret: no
// conninfo, no password. Not thread-safe per Connection.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/lsn.h"
#include "config/config.h"
#include "pg/connection.h"

namespace walferry::serve {

struct SetCounters {  // the status row's process counters; nullopt from a walferry older than them
  std::string task_status;  // raw control::TaskState text
  std::optional<int64_t> changes_applied, transactions_applied, groups_applied, retries;
};

struct SlotStats {  // pg_stat_replication_slots (PostgreSQL 14+)
  std::optional<int64_t> spill_bytes, spill_txns, total_txns;
};

struct TableLoad {
  std::string set;
  std::string table;  // schema.name as displayed (quoted where needed)
  std::string state;  // pending | copying | copied | failed
  int64_t rows_copied = 0;
  int64_t bytes_copied = 0;
  int parts = 1;
  int parts_copied = 0;
  double copy_seconds = 0;
  std::optional<int64_t> rows_estimated;  // source's reltuples (tables not yet copied only)
  std::optional<int64_t> size_bytes;      // source's pg_table_size (tables not yet copied only)
};

struct Observation {
  double time = 0;                  // when taken, seconds since the epoch (this host's clock)
  nlohmann::json status;            // serve::StatusJson
  Lsn source_wal;                   // the source's current WAL position
  std::optional<int64_t> max_slot_wal_keep_bytes;  // -1 unlimited; nullopt before PostgreSQL 13
  std::map<std::string, std::string> load_state;   // every set of the control schema -> sets.load_state
  std::map<std::string, std::string> slot_name;    // every set of the control schema -> its recorded slot
  std::map<std::string, SetCounters> counters;     // by set (sets with a status row)
  std::map<std::string, SlotStats> slot_stats;     // by set
  std::map<std::string, int64_t> validation_differences;  // by set
  std::vector<TableLoad> tables;
  std::optional<std::string> cutover_step;
  std::optional<double> cutover_downtime_seconds;
  nlohmann::json exceptions = nlohmann::json::array();  // newest first: set, table, time, statement, error
};

// Reads one Observation. `now`: the time to record. Throws Error(kSql/kConnection) from either server.
Observation Observe(const config::Config& config, pg::Connection& target, pg::Connection& source, double now);

}  // namespace walferry::serve
