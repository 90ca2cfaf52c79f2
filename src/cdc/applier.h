// cdc/applier.h
//
// Transactional apply: source transactions are applied whole and in commit order, a GROUP of consecutive ones in
// ONE target transaction (the caller decides where a group ends: Worker commits when the stream has nothing more
// buffered or the group is large). The same target transaction records the group's last source commit end LSN in
// the control schema's checkpoint table. So every source transaction is applied exactly once: either its rows and
// a checkpoint at or past its commit are both committed, or neither. A group never splits a source transaction.
//
// Throughput: every (relation, change kind, column set) gets a named prepared statement, and statements are sent
// in libpq pipeline mode in batches of kMaxPending statements (or kMaxPendingBytes of values), each closed by a
// sync; when a batch closes, the results of the batch before it are read. So round trips do not bound throughput,
// the target executes one batch while walferry decodes and sends the next, and memory stays bounded whatever the
// transaction size: changes are streamed into the open target transaction as they arrive. (A sync inside an
// explicit transaction block does not end it.)
//
// Every UPDATE and DELETE must affect exactly one row; 0 rows is an error, never ignored.
//
// Batch apply (options.batch_tables, docs/cdc.md "Batch apply"): the changes of a batch table whose replica
// identity is the target's key are netted per key (cdc/net_changes.h) instead of sent, and applied set-based
// (cdc/batch_apply.h) when the group commits, at a barrier (TRUNCATE, a new Relation message of a netted table, a
// change that cannot be netted), at batch_max_bytes or every batch_flush_changes netted changes; all inside the
// same target transaction as the per-change statements of the other tables. Only the staging COPY leaves the
// pipeline: the set-based statements are pipelined and their results read at the next application or the commit,
// so the target applies one part while the next is read. A set-based statement that fails (found when its result
// is read: from any call that reads results, CommitGroup included) throws BatchFallback (the caller replays the
// batch with Begin(.., batch = false)).
//
// Error policies (cdc.error_policy, docs/cdc.md "Error policies"):
//   stop              the first rejected change fails the transaction (nothing of it commits) and the worker.
//   log-and-continue  every change runs inside its own SAVEPOINT, in its own pipeline sync group:
//                       ROLLBACK TO SAVEPOINT p; <change>; RELEASE SAVEPOINT p; SAVEPOINT p; Sync
//                     (the leading ROLLBACK TO is a no-op after a change that worked, and undoes a failed one,
//                     which is allowed in an aborted transaction block). A rejected change (or one matching no
//                     row) is logged as an error and inserted into apply_exceptions by the SAME target
//                     transaction, which commits the rest of the source transaction and the checkpoint: the
//                     exception row exists exactly once, together with the checkpoint that skipped it.
//                     An UPDATE/DELETE is kept only if it matched exactly one row, which is known only once its
//                     result is read: its sync group is sent WITHOUT the RELEASE, its result read (one round trip
//                     per UPDATE/DELETE), and then RELEASE + SAVEPOINT are queued; a skipped one stays unreleased
//                     and the next ROLLBACK TO undoes it, so a change reported skipped is never committed.
//                     INSERT and TRUNCATE stay pipelined. Each change costs 3 extra statements.
//                     A retriable SQLSTATE (RetriableSqlState) is never skipped: it throws, the caller retries.
//                     Only a change's own failure (cdc::FailureClass::kChange: 22*, 23*, a row-count mismatch,
//                     a TRUNCATE refused by a foreign key) is skipped; any other fails like `stop`.
//   suspend-table     changes of the tables in options.suspended are not applied: each is inserted into
//                     apply_exceptions (statement and values) by the same target transaction. A rejected change
//                     of another table fails like `stop`; the worker then suspends that table and replays.
// The applier itself never decides to suspend a table; Worker does (it persists the suspension first).
// The session runs with session_replication_role = replica (triggers and FK checks off, as native logical
// replication does) when the role may set it, the configured synchronous_commit, lock_timeout and
// statement_timeout, and client_encoding / lc_monetary as pg::ReplicationConnection asks the walsender for.
// TRUNCATE: exactly the tables the message lists, ONLY unless partitioned on the target, never CASCADE.
// Waiting for target results, the Applier calls options.while_waiting every kWaitingInterval (if set).
//
// Ownership: owns its target Connection. After any exception the Applier is unusable (its connection may be in
// an aborted transaction or broken): destroy it; closing the connection rolls the open transaction back.
// Thread safety: none; one Applier per worker.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cdc/batch_apply.h"
#include "cdc/net_changes.h"
#include "cdc/pgoutput_messages.h"
#include "cdc/statement_builder.h"
#include "cdc/target_columns.h"
#include "pg/connection.h"

namespace walferry::cdc {

enum class ErrorPolicy { kStop, kLogAndContinue, kSuspendTable };
// "stop" | "log-and-continue" | "suspend-table"; throws Error(kConfig) otherwise.
ErrorPolicy ParseErrorPolicy(const std::string& text);

// SQLSTATEs that say nothing about the change itself but about the target's state (cdc::TransientSqlState,
// cdc/failure_class.h): serialization failure (40001), deadlock (40P01), lock_timeout (55P03), statement_timeout
// or cancel (57014), shutdown (57P*), connection (08*), insufficient resources (53*), object in use (55006), a
// read-only target (25006) or one in recovery (55000 "recovery is in progress"). A change failing so is never
// skipped nor recorded as an exception: the Applier throws (55P03 and 57014 as ErrorKind::kTimeout, the others
// with their SQLSTATE) and the caller retries the transaction. `message`: the server's message.
bool RetriableSqlState(std::string_view sqlstate, std::string_view message);

// What one target transaction (a group) changed in one table, for two apply connections (Applier::FootprintOf).
struct TableFootprint {
  bool whole = false;                  // per-change statements or a TRUNCATE: any row
  std::unordered_set<uint64_t> keys;   // hashes of the keys of the net rows applied (KeyHash of NetTable::keys):
                                       // two keys that share a hash only make the next group wait, never race
  static uint64_t KeyHash(const std::string& key) { return std::hash<std::string>{}(key); }
};

struct ApplierOptions {
  std::string control_schema = "walferry";
  std::string set_name;
  std::string synchronous_commit = "off";
  ErrorPolicy error_policy = ErrorPolicy::kStop;
  // suspend-table: target tables (schema, name) whose changes are recorded as exceptions instead of applied.
  std::set<std::pair<std::string, std::string>> suspended;
  // The target conninfo for the metadata connection (cdc/target_columns.h), opened on the first row change or
  // TRUNCATE.
  std::string target_conninfo;
  // The apply session's lock_timeout and statement_timeout (from cdc.lock_timeout_seconds and
  // cdc.statement_timeout_seconds; "0": off).
  std::string lock_timeout = "60s";
  std::string statement_timeout = "0";
  // Called about every kWaitingInterval while the Applier waits for the target's results (never from inside a
  // libpq call on the apply connection), e.g. to answer the walsender's keepalives. May throw: the Applier is
  // then unusable like after any exception.
  // `waited`: how long this wait for one result has lasted so far.
  std::function<void(std::chrono::milliseconds waited)> while_waiting;
  // The tables of the configuration's OTHER sets: a TRUNCATE of a table that one of them references on the target
  // is applied as DELETE (see Apply(Truncate)).
  std::set<pg::TableName> other_sets_tables;
  // Batch apply (docs/cdc.md "Batch apply"): the target tables in `apply: batch`; their changes are netted and
  // applied set-based (BatchApplier) when the group commits, at a barrier, or when the net rows held reach
  // batch_max_bytes of values. Empty: every change is applied as it comes.
  std::set<pg::TableName> batch_tables;
  uint64_t batch_max_bytes = uint64_t{64} << 20;
  // Batch tables applied per change until the time given (a batch of theirs failed set-based a moment ago: its
  // next batches would most likely fail the same way, and each failure costs a replay).
  std::map<pg::TableName, std::chrono::steady_clock::time_point> batch_paused_until;
  // The net rows are applied in parts of this many netted changes (each part's set-based statements run on the
  // target while the next part is read and netted), besides at commit, barriers and batch_max_bytes.
  uint64_t batch_flush_changes = 10000;
  // Two apply connections (cdc.apply_connections: 2, docs/cdc.md "Two apply connections"; set by Worker): the
  // group the OTHER connection has sent and not yet committed; it commits before this connection's group.
  // in_flight_footprint(table): what that group changed in `table` (nullptr: nothing, or no group in flight).
  // finish_in_flight(): waits for that group and commits it. A statement that could meet that group's rows waits
  // for it first: per-change statements of a table it changed, a TRUNCATE (always), net rows of keys it changed
  // (kept for a later part instead, when a part is full). Unset: one connection.
  std::function<const TableFootprint*(const pg::TableName& table)> in_flight_footprint;
  std::function<void()> finish_in_flight;
};

// A set-based statement of batch apply failed (or found other row counts than the net rows): the target
// transaction is aborted and nothing of the batch is committed. The caller replays the batch's source
// transactions per change (Begin(..., batch = false)). `first`..`last`: commit LSNs of the batch's first and
// last source transaction (the open one included).
class BatchFallback : public Error {
 public:
  BatchFallback(const Error& cause, pg::TableName table, Lsn first, Lsn last)
      : Error(cause), table_(std::move(table)), first_(first), last_(last) {}
  const pg::TableName& table() const { return table_; }
  Lsn first() const { return first_; }
  Lsn last() const { return last_; }

 private:
  pg::TableName table_;
  Lsn first_;
  Lsn last_;
};

// Batch apply's counters (committed groups only).
struct BatchCounters {
  uint64_t changes_netted = 0;  // row changes of batch tables that went into net rows
  uint64_t net_rows = 0;        // net rows applied set-based (DELETE + UPDATE + INSERT rows; an upsert counts 2)
  uint64_t batches = 0;         // committed groups that applied net rows set-based
  uint64_t flushes = 0;         // set-based applications (a group may need several: barriers, memory bound)
};

// The change that could not be applied, for the apply_exceptions table.
struct FailedChange {
  pg::TableName table;
  std::string statement;  // the SQL, followed by "-- values: $1='...', $2=NULL"
  Lsn txn_final_lsn;      // commit LSN of the source transaction it belongs to
};

class Applier {
 public:
  static constexpr size_t kMaxPending = 1000;
  static constexpr size_t kMaxPendingBytes = 8 << 20;
  // Values longer than this are cut in the copy kept for error reports only (never in what is applied).
  static constexpr size_t kMaxReportedValue = 1 << 20;
  static constexpr std::chrono::milliseconds kWaitingInterval{500};

  Applier(pg::Connection target, ApplierOptions options);

  // Starts source transaction `begin`: opens the target transaction unless a group is already open. batch: whether
  // the changes of batch tables in this transaction may be netted (false while a failed batch is replayed).
  void Begin(const cdc::Begin& begin, bool batch = true);
  // A Relation message arrived: statements prepared for an older description of this relation are dropped.
  void OnRelation(const Relation& rel);
  void Apply(const Relation& rel, const Insert& change);
  void Apply(const Relation& rel, const Update& change);
  void Apply(const Relation& rel, const Delete& change);
  // rels: the relations named by the message, in its order.
  void Apply(const std::vector<const Relation*>& rels, const Truncate& change);
  // A TRUNCATE of one partition, announced by walferry's trigger on the source (control/truncate_capture.h):
  // TRUNCATE ONLY <partition> on the target; under suspend-table an exception row when `root` is suspended.
  void ApplyPartitionTruncate(const pg::TableName& partition, const pg::TableName& root);
  // A streamed transaction applied before its commit (Worker, docs/cdc.md "Streaming of large transactions").
  // Called before each of its changes with the (sub)transaction the change belongs to: the first change of a
  // subtransaction sets `SAVEPOINT walferry_sub_<subxid>`. Only inside a source transaction, never under
  // log-and-continue (whose per-change savepoint it would break).
  void OnSubtransaction(Xid top, Xid subxid);
  // The source rolled subtransaction subxid back: `ROLLBACK TO` its savepoint, which also undoes every
  // subtransaction whose first change came after it (in one backend a transaction runs in order, so those are
  // subxid's own children); the rows counted for them are uncounted. Nothing when subxid had no savepoint.
  void RollbackSubtransaction(Xid subxid);
  // Ends the source transaction; it joins the open group (nothing is committed yet).
  void EndTransaction(const cdc::Commit& commit);
  // Writes the checkpoint (the group's last commit end LSN) and COMMITs the target transaction; returns that
  // Commit once the target has committed. A kConnection error here means "commit in doubt": the caller resolves
  // it by re-reading the checkpoint. Requires group_open().
  cdc::Commit CommitGroup();
  // CommitGroup in two steps, for two apply connections (Worker): CloseGroup sends what the open group still holds
  // (its net rows) and reads nothing; FinishGroup then reads every result, writes the checkpoint and COMMITs, with
  // CommitGroup's errors. Between them the group is closed: no Begin, no change.
  void CloseGroup();
  cdc::Commit FinishGroup();
  // What the open (or closed) group changed in `table`; nullptr when nothing. Kept only with in_flight_footprint set.
  const TableFootprint* FootprintOf(const pg::TableName& table) const;
  // Whether the session runs with session_replication_role = replica (FK checks and triggers off).
  bool replica_role() const { return replica_role_; }

  bool in_transaction() const { return in_transaction_; }
  // Ended source transactions waiting in the open target transaction for CommitGroup().
  bool group_open() const { return group_transactions_ > 0; }
  uint64_t group_transactions() const { return group_transactions_; }
  uint64_t group_rows() const { return group_rows_; }
  // Commit LSN of the first source transaction in the open target transaction (valid while in_transaction()).
  Lsn group_first_lsn() const { return group_first_lsn_; }
  // Row changes applied (committed) since construction.
  uint64_t rows_applied() const { return rows_applied_; }
  // Changes recorded in apply_exceptions (log-and-continue, suspend-table) and committed since construction.
  uint64_t exceptions_recorded() const { return exceptions_recorded_; }
  // Set when the last exception came from a change the target rejected (or that matched no row).
  const std::optional<FailedChange>& failed_change() const { return failed_; }
  pg::Connection& connection() { return conn_; }
  // Batch apply counters of the committed groups since construction.
  const BatchCounters& batch_counters() const { return batch_committed_; }
  // Bytes of net row values held for the open group.
  uint64_t net_bytes() const { return net_bytes_; }

 private:
  // kNet: a set-based statement of batch apply (Pending::statement indexes net_sent_).
  enum class ItemKind : uint8_t { kControl, kPrepare, kChange, kSync, kNet };
  // A change the target rejected under log-and-continue, to be inserted into apply_exceptions.
  struct Skipped {
    pg::TableName table;
    std::string statement;
    std::string error;
  };
  struct ValueRef {
    uint32_t offset = 0;
    int32_t length = -1;  // -1: NULL
    bool cut = false;
  };
  // One queued pipeline item whose result is still to be read.
  struct Pending {
    ItemKind kind;
    bool expect_one_row = false;
    uint32_t statement = 0;  // index into statements_
    uint32_t first_value = 0;
    uint32_t value_count = 0;
    Lsn txn;  // commit LSN of the source transaction the item belongs to (a flush may cover several)
  };
  struct Prepared {
    std::string name;
    std::string sql;
    pg::TableName table;
    NoRowExplanation no_row;  // what 0 matched rows means for this statement (identity guards), else empty
    std::vector<pg::TableName> tables;  // a TRUNCATE of several tables: all of them (`table` is the first)
  };

  void Configure();
  // Batch apply: the net rows of `rel` (nullptr when its changes are applied one by one: not a batch table, not
  // netted in this transaction, or its identity or target key does not allow it).
  NetTable* NetFor(const Relation& rel, const TargetDescription& target);
  // Applies every net row held (BatchApplier), inside the open target transaction; throws BatchFallback when a
  // set-based statement fails for a reason of its own (retriable and connection failures are thrown as they are).
  // part (a part is full, Netted): with two apply connections the rows of keys that the other connection's group in
  // flight changed are kept for a later flush; any other flush first waits for that group when it changed one.
  void FlushNet(bool part = false);
  // Two apply connections: waits for the other connection's group in flight (always: with `table`, only when that
  // group changed the table) and records `table` as wholly changed by this group.
  void AfterInFlight(const pg::TableName* table);
  void WaitInFlight();
  // A change of `rel` the net rows refused: the net rows so far are applied, then the change one by one.
  void NetRefused();
  // A change was netted into `net` (which held bytes_before bytes): counts it, applies the net rows when a part
  // is full.
  void Netted(const NetTable& net, uint64_t bytes_before);
  // Reads the result of a set-based statement; throws BatchFallback when it failed or its row count differs,
  // the retriable and connection failures as they are.
  void ReadNetResult(const Pending& item);
  // The target table's description (cdc/target_columns.h); an empty one for a suspended table (never applied,
  // so never described: a source type change there does not stop the set).
  const TargetDescription& Describe(const Relation& rel);
  uint32_t StatementFor(const Relation& rel, const TargetDescription& target, const StatementShape& shape);
  void SendChange(const Relation& rel, const TargetDescription& target, const StatementShape& shape,
                  const TupleData& set_tuple, const TupleData* where_tuple);
  void SendControl(std::string_view sql, std::span<const pg::Param> params);
  // "TRUNCATE ONLY a, p, ..." (no ONLY on a table partitioned on the target), never CASCADE.
  std::string TruncateSql(const std::vector<const Relation*>& rels, bool restart_identity);
  // Whether tables of other sets (options_.other_sets_tables) and nothing else, apart from `truncated` itself,
  // reference rel's target table by a foreign key, and the session runs as replica (FK actions off).
  bool ReferencedOnlyFromOtherSets(const Relation& rel, const std::vector<const Relation*>& truncated);
  // Queues a TRUNCATE statement of `tables` (the first is charged with a failure unless the error names another).
  void SendTruncate(const std::string& sql, std::vector<pg::TableName> tables);
  // The table a failure of statement st is charged to: for a TRUNCATE of several tables, the one the error names.
  static pg::TableName ChargedTable(const Prepared& st, const Error& error);
  void SendSync();
  bool Guarded() const { return options_.error_policy == ErrorPolicy::kLogAndContinue; }
  bool Suspended(const pg::TableName& t) const { return options_.suspended.contains({t.schema, t.name}); }
  // suspend-table: queues the apply_exceptions row for a change of a suspended table instead of the change.
  void RecordSuspended(const Relation& rel, const TargetDescription& target, const StatementShape& shape,
                       const TupleData& set_tuple, const TupleData* where_tuple);
  void SendException(const pg::TableName& table, const std::string& statement, const std::string& error);
  // log-and-continue: ends a change's sync group; a change that must match one row is read first (see .cc).
  void EndGuardedChange(bool check_row_count);
  // log-and-continue: remembers a rejected change (logged now, inserted by QueueSkipped()).
  void Skip(const Pending& item, const Error& error);
  // log-and-continue: inserts the rows for skipped_ inside the open transaction, in their own sync group.
  void QueueSkipped();
  void AddParam(const ColumnValue& v);
  void FlushIfFull();
  // Syncs the pipeline and reads every pending result; throws the first failure with its change.
  void Flush();
  // Reads the results of pending_[0, end) (which ends with a sync item) and forgets those items.
  void ReadResults(size_t end);
  void DrainToSync();
  [[noreturn]] void FailOn(const Pending& item, Error error);
  // A retriable SQLSTATE (RetriableSqlState): drains to the sync and throws without setting failed_.
  [[noreturn]] void ThrowRetriable(const Pending& item, Error error);
  // The next pipeline result; while it has not arrived, calls options_.while_waiting every kWaitingInterval.
  pg::Result NextResult();
  void Queue(ItemKind kind, bool expect_one_row = false, uint32_t statement = 0, uint32_t first_value = 0);
  std::string RenderStatement(const Pending& item) const;

  pg::Connection conn_;
  ApplierOptions options_;
  bool in_transaction_ = false;  // a target transaction is open (a source transaction or a group in it)
  bool in_source_txn_ = false;   // between Begin and EndTransaction
  bool replica_role_ = false;    // the session runs with session_replication_role = replica (Configure)
  Lsn txn_final_lsn_;
  uint64_t rows_applied_ = 0;
  uint64_t txn_rows_ = 0;
  uint64_t exceptions_recorded_ = 0;
  uint64_t txn_exceptions_ = 0;
  Lsn group_first_lsn_;
  std::optional<cdc::Commit> group_last_;  // the last ended source transaction of the open group
  uint64_t group_transactions_ = 0;
  uint64_t group_rows_ = 0;
  uint64_t group_exceptions_ = 0;
  std::optional<FailedChange> failed_;
  std::vector<Skipped> skipped_;
  bool last_change_skipped_ = false;  // set by Skip(): read by EndGuardedChange()
  // OnSubtransaction: the subtransactions with a savepoint, in order, each with txn_rows_ when it was set.
  std::vector<std::pair<Xid, uint64_t>> savepoints_;
  std::unordered_set<uint32_t> savepoint_ids_;  // the xids in savepoints_: one lookup per change, not a scan
  std::string exception_sql_;
  std::string checkpoint_sql_;

  std::unordered_map<uint32_t, std::unordered_map<std::string, uint32_t>> statement_ids_;  // relid -> key -> id
  std::vector<Prepared> statements_;
  std::vector<pg::Param> params_;  // reused for every change
  TargetColumns target_columns_;   // the target tables' descriptions, per relation id

  std::vector<Pending> pending_;  // sent, result not read yet: the previous batch (if any), then the current one
  size_t batch_start_ = 0;        // index in pending_ where the current batch begins
  size_t batch_arena_start_ = 0;  // offset in arena_ where the current batch's values begin
  std::vector<ValueRef> values_;
  std::string arena_;  // copies of pending values, for error reports

  // Batch apply.
  struct NetEntry {
    NetTable table;
    TargetDescription target;  // as when the first change was added (a new Relation message flushes first)
  };
  bool batch_txn_ = false;                         // this source transaction's batch-table changes are netted
  std::unordered_map<uint32_t, NetEntry> net_;     // relation id -> its net rows in the open group
  std::vector<uint32_t> net_order_;                // relation ids in the order their first change came
  std::unordered_map<uint32_t, bool> netted_rel_;  // relation id -> whether its changes may be netted (cached)
  uint64_t net_bytes_ = 0;
  uint64_t net_changes_ = 0;  // changes netted since the last flush
  struct NetSent {
    pg::TableName table;
    NetStatement statement;
  };
  // The set-based statements of the last flush, until their results are read (the next flush, or the commit).
  std::vector<NetSent> net_sent_;
  BatchApplier batch_applier_;
  // Two apply connections: what this group changed (FootprintOf), and whether it is closed.
  std::map<pg::TableName, TableFootprint> footprint_;
  bool group_closed_ = false;
  BatchCounters batch_group_;      // the open group's
  BatchCounters batch_committed_;  // committed groups'
};

}  // namespace walferry::cdc
