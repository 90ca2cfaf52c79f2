// matrix/scenario.h
//
// The generator of the scenario matrix (tests/matrix/matrix_test.cc): from a seed, one whole migration to try. A
// schema drawn from a catalogue of features (keys of every kind, partitions, legacy inheritance, foreign keys,
// identity and generated columns, TOAST values, every built-in type family with its edge values, quoted
// mixed-case names, sequences, large objects, a LATIN1 source database), initial rows, a random workload of source
// transactions, a split of the tables into 1-4 replication sets (parents and children, referencing and referenced
// tables put apart on purpose; each set applied per change or in batches; sometimes a set of more than a hundred
// small tables, so that validate checks them in several groups) and a fault plan (kill -9 of CDC at chosen points, a cutover killed after a step, one set restarted while the
// others stream).
//
// Pure: no I/O, no clock. The same seed gives the same scenario on every machine and build (its own random
// number generator and draws; the standard library's distributions differ between implementations), so a failed
// seed reruns alone. Every value is an SQL literal or an expression the source evaluates; the workload never needs
// to know the rows it changes (it picks them with subqueries), so it is valid SQL in any order of execution.
// The generator does not decide what is right: the test compares source and target, whatever ran.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace walferry::matrix {

// A deterministic random source (splitmix64), the same everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  // Uniform in [0, n); n > 0.
  uint64_t Below(uint64_t n) { return Next() % n; }
  // True with probability percent / 100.
  bool Chance(int percent) { return static_cast<int>(Below(100)) < percent; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) { return v[Below(v.size())]; }

 private:
  uint64_t state_;
};

// One replication set of the scenario: its name (walferry_<name> is its slot) and the tables it lists, as SQL
// names (quoted where needed), ready for walferry.yaml.
struct SetPlan {
  std::string name;
  std::vector<std::string> tables;
  bool batch = false;  // `apply: batch` (set-based apply of net changes, docs/cdc.md), else `apply: transactional`
};

struct Scenario {
  uint64_t seed = 0;
  bool latin1_source = false;           // the source database is LATIN1 (the target's is UTF8)
  std::string schema_sql;               // DDL and the initial rows, run on the source before the load
  std::vector<SetPlan> sets;
  std::vector<std::string> during_load;  // source transactions run while walferry load runs
  std::vector<std::string> workload;     // source transactions run while CDC runs (each a whole BEGIN...COMMIT)
  std::vector<size_t> kill_after;        // CDC gets SIGKILL after these workload transactions (then restarted)
  // The source database decodes with logical_decoding_work_mem = 64kB, so that its larger transactions reach
  // walferry as streams of in-progress transactions (pgoutput protocol 2+, 14+ sources; docs/cdc.md "Streaming").
  bool stream_transactions = false;
  // ... and walferry applies them from its spill file at their commit (cdc.streaming: spill), not while they run
  // (cdc.streaming: on, the default).
  bool stream_at_commit = false;
  // The batch sets apply on two target connections in turn (cdc.apply_connections: 2, docs/cdc.md).
  bool two_apply_connections = false;
  bool cdc_per_set = false;              // one `walferry cdc --set` process per set, else one process for all
  bool cdc_running_at_cutover = false;   // the cutover finds CDC still streaming (it then stops at the final LSN)
  std::string cutover_kill_after;        // a cutover step to kill the first cutover after ("" = none)
  // `walferry restart --set restart_set` after workload transaction restart_after, CDC of that set stopped first
  // ("" = none). It may be refused (a table outside the set references or inherits from its tables): then nothing
  // changed and the migration goes on.
  std::string restart_set;
  size_t restart_after = 0;
  // Every catalogue feature drawn, with how often (a feature drawn twice counts twice).
  std::map<std::string, int> features;
};

// The whole scenario of `seed`. `set_prefix` starts every set name (slots are cluster-wide: each seed its own).
Scenario Generate(uint64_t seed, const std::string& set_prefix);

// Every feature of the catalogue, for the coverage report (a feature never drawn in a run is named as such).
std::vector<std::string> CatalogueFeatures();

}  // namespace walferry::matrix
