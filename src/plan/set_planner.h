// plan/set_planner.h
//
// Splits the selected tables into N replication sets (one slot + publication each) so that each set's change
// stream carries a similar write rate, and decides each table's apply mode. Pure: stats in, sets out; the stats
// come from assess (pg_stat_user_tables deltas, pg_total_relation_size, constraints, LOB sizes).
//
// Balancing: greedy longest-processing-time. Tables are sorted by write rate, then size, descending (then name,
// so equal inputs give equal plans), and each goes to the set with the lowest write rate so far, ties broken by
// lower total size, then lower set index. LPT is within 4/3 of the optimal largest set. Tables with no writes
// change no set's rate, so they go to the set with the smallest total size instead (idle tables spread out rather
// than piling onto one set). When one table writes more than an even share, that table alone bounds the balance.
//
// Foreign keys: tables linked by foreign keys (directly or through others) form one group, and a group is placed
// whole, as one unit of the balancing: their changes then apply in one stream in commit order, so the target never
// holds a row whose referenced row another set has not applied yet. With fewer groups than sets asked for, fewer
// sets are planned and a note says why. Sets given elsewhere (PlanGivenSets) are kept, with a note per foreign key
// that crosses two of them.
//
// Apply modes: a table with a primary key and a separate unique constraint gets apply: transactional (applying its
// changes out of order can violate the unique constraint), with reason "pk_and_unique -> transactional". A set is
// transactional only when all its tables are; otherwise it stays batch and those tables override it. This keeps
// the fast batch path for every other table rather than slowing a whole slot for one table.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"
#include "pg/quote.h"

namespace walferry::plan {

struct TableStats {
  pg::TableName name;
  double write_rate = 0;    // inserts + updates + deletes per second on the source; >= 0
  int64_t total_bytes = 0;  // heap + indexes + TOAST; >= 0
  bool pk_and_unique = false;
  config::LobSettings lob;  // recommendation from assess; the default means "no limit"
  std::string lob_reason;   // why assess recommends `lob` (e.g. "largest value 1.1 MB"); may be empty
  std::vector<pg::TableName> references;  // tables its foreign keys point at; those not planned are ignored
};

struct PlannedSet {
  config::SetConfig config;
  std::vector<TableStats> tables;  // same order as config.tables
  double write_rate = 0;
  int64_t total_bytes = 0;
};

struct SetPlan {
  std::vector<PlannedSet> sets;
  // How far the busiest set exceeds an even split: max_rate / mean_rate - 1 (0 is perfect; 0.2 is 20% over).
  // When every rate is 0 the same measure is taken over total_bytes.
  double imbalance = 0;
  std::vector<std::string> notes;  // for people: why fewer sets were planned, foreign keys across given sets

  std::vector<config::SetConfig> Configs() const;
};

// Partitions `tables` into `set_count` sets named set_1..set_N (fewer when foreign keys link the tables into fewer
// groups; see above). Within a set tables are ordered by name.
// Throws Error(kConfig) when set_count < 1 or > tables.size(), and Error(kData) for a duplicate table, a negative
// or non-finite write rate, or a negative size.
[[nodiscard]] SetPlan PlanSets(const std::vector<TableStats>& tables, int set_count);

// Sets decided elsewhere (one per DMS mapping file, one per pglogical replication set): each group keeps its name
// and tables; apply modes, totals and imbalance are derived exactly as PlanSets does. Throws Error(kConfig) when
// there are no groups, a group is empty, or a table is in two groups; Error(kData) as PlanSets.
[[nodiscard]] SetPlan PlanGivenSets(const std::vector<std::pair<std::string, std::vector<TableStats>>>& groups);

// A valid set name (lower case [a-z0-9_], at most 48 characters, not empty) made from any text, e.g. a file name.
[[nodiscard]] std::string SetNameFrom(const std::string& text);

// The plan as a table for people: per set its apply mode, totals and each table's apply, rate, size and reason,
// then the imbalance. Ends with a newline.
[[nodiscard]] std::string ExplainPlan(const SetPlan& plan);

}  // namespace walferry::plan
