#include "cdc/applier.h"

#include <algorithm>
#include <cctype>

#include "cdc/failure_class.h"
#include "common/log.h"
#include "control/control_schema.h"
#include "cdc/status_writer.h"
#include "pg/quote.h"
#include "sql/sql.h"

namespace walferry::cdc {
namespace {

std::shared_ptr<spdlog::logger> Log() { return log::For("target_apply"); }

constexpr std::string_view kRollbackTo = "ROLLBACK TO SAVEPOINT walferry_change";
constexpr std::string_view kRelease = "RELEASE SAVEPOINT walferry_change";
constexpr std::string_view kSavepoint = "SAVEPOINT walferry_change";

// Appends " $i=<literal or NULL>" for the report of a statement's values.
void AppendValue(std::string& out, size_t i, std::optional<std::string_view> v, bool cut) {
  out += (i ? ", $" : " $") + std::to_string(i + 1) + "=";
  if (!v) {
    out += "NULL";
    return;
  }
  out += pg::QuoteLiteral(*v);
  if (cut) out += " (value cut here for this report)";
}

}  // namespace

bool RetriableSqlState(std::string_view s, std::string_view message) { return TransientSqlState(s, message); }

ErrorPolicy ParseErrorPolicy(const std::string& text) {
  if (text == "stop") return ErrorPolicy::kStop;
  if (text == "log-and-continue") return ErrorPolicy::kLogAndContinue;
  if (text == "suspend-table") return ErrorPolicy::kSuspendTable;
  throw Error(ErrorKind::kConfig, "unknown cdc.error_policy '" + text + "'")
      .WithHint("use stop, log-and-continue or suspend-table");
}

Applier::Applier(pg::Connection target, ApplierOptions options)
    : conn_(std::move(target)), options_(std::move(options)),
      exception_sql_(WithSchema(sql::Get("cdc/insert_exception"), options_.control_schema)),
      checkpoint_sql_(control::ControlSchema::CheckpointSql(options_.control_schema)),
      target_columns_(options_.target_conninfo, "walferry_meta_" + options_.set_name) {
  WithContext("preparing the apply session on the target", [&] { Configure(); });
}

void Applier::Configure() {
  // Values arrive as the source's text output; read them back under the same conventions native replication uses.
  conn_.Exec("SET datestyle = 'ISO'; SET intervalstyle = 'postgres'; SET extra_float_digits = 3");
  conn_.Exec("SET synchronous_commit = " + pg::QuoteLiteral(options_.synchronous_commit));
  // Text arrives in the encoding the replication connection asked the walsender for, money formatted under the
  // lc_monetary it set (pg/replication_stream.h): read both back the same way.
  conn_.Exec("SET client_encoding = " + pg::QuoteLiteral(pg::kTransferEncoding));
  conn_.Exec("SET lc_monetary = " + pg::QuoteLiteral(pg::kTransferLcMonetary));
  // A target lock held for long, or a statement running away, ends the transaction; it is retried (never skipped).
  conn_.Exec("SET lock_timeout = " + pg::QuoteLiteral(options_.lock_timeout));
  conn_.Exec("SET statement_timeout = " + pg::QuoteLiteral(options_.statement_timeout));
  replica_role_ = pg::TrySetReplicaRole(conn_);
  if (!options_.batch_tables.empty()) conn_.Exec(BatchApplier::kSessionSettings);
  if (!replica_role_) {
    Log()->warn("set {}: the target role may not set session_replication_role = replica, so target triggers fire "
                "and foreign keys are checked during apply; use a superuser target role to apply as native "
                "logical replication does",
                options_.set_name);
  }
  conn_.EnterPipeline();
}

void Applier::Begin(const cdc::Begin& begin, bool batch) {
  if (in_source_txn_) throw Error(ErrorKind::kProtocol, "Begin while a transaction is open");
  if (group_closed_) throw Error(ErrorKind::kInternal, "Begin on a closed group");
  failed_.reset();
  // Netting reorders changes within a table and across tables: only without FK checks and triggers (replica
  // role), and not under log-and-continue, whose per-change savepoints it would bypass.
  batch_txn_ = batch && replica_role_ && !Guarded() && !options_.batch_tables.empty();
  txn_final_lsn_ = begin.final_lsn;
  txn_rows_ = 0;
  txn_exceptions_ = 0;
  savepoints_.clear();
  savepoint_ids_.clear();
  in_source_txn_ = true;
  if (in_transaction_) return;  // joins the open group; under log-and-continue its savepoint is already set
  group_first_lsn_ = begin.final_lsn;
  SendControl("BEGIN", {});
  if (Guarded()) SendControl(kSavepoint, {});
  in_transaction_ = true;
}

void Applier::Queue(ItemKind kind, bool expect_one_row, uint32_t statement, uint32_t first_value) {
  pending_.push_back({kind, expect_one_row, statement, first_value, 0, txn_final_lsn_});
}

void Applier::OnRelation(const Relation& rel) {
  // The net rows hold the old description's column layout: apply them before it changes.
  if (net_.contains(rel.relation_id.value)) FlushNet();
  netted_rel_.erase(rel.relation_id.value);
  if (auto it = statement_ids_.find(rel.relation_id.value); it != statement_ids_.end()) {
    // The server keeps a prepared statement until the session ends: drop the replaced ones, so their number stays
    // bounded however often the relation cache is invalidated. DEALLOCATE fails in an aborted transaction block:
    // under log-and-continue undo a rejected change first (as every guarded statement does).
    if (Guarded() && in_transaction_ && !it->second.empty()) SendControl(kRollbackTo, {});
    for (const auto& [key, id] : it->second) SendControl("DEALLOCATE " + pg::QuoteIdent(statements_[id].name), {});
    statement_ids_.erase(it);
    FlushIfFull();
  }
  target_columns_.Forget(rel.relation_id);
}

const TargetDescription& Applier::Describe(const Relation& rel) {
  static const TargetDescription kUnknown;
  if (!options_.suspended.empty() && Suspended(TargetTable(rel))) return kUnknown;
  return target_columns_.Describe(rel);
}

uint32_t Applier::StatementFor(const Relation& rel, const TargetDescription& target, const StatementShape& shape) {
  auto& by_key = statement_ids_[rel.relation_id.value];
  std::string key = shape.Key() + "@" + std::to_string(target.generation);
  if (auto it = by_key.find(key); it != by_key.end()) return it->second;
  BuiltStatement built = BuildStatement(rel, target, shape);
  uint32_t id = static_cast<uint32_t>(statements_.size());
  statements_.push_back({"walferry_s" + std::to_string(id), built.sql, TargetTable(rel), ExplainNoRow(rel, shape)});
  conn_.SendPrepare(statements_.back().name, built.sql, built.nparams);
  Queue(ItemKind::kPrepare, false, id);
  by_key.emplace(std::move(key), id);
  return id;
}

void Applier::AddParam(const ColumnValue& v) {
  size_t i = values_.size() - pending_.back().first_value;  // index within this change
  if (params_.size() <= i) params_.resize(i + 1);
  ValueRef ref;
  ref.offset = static_cast<uint32_t>(arena_.size());
  if (v.kind == ColumnKind::kNull) {
    params_[i].reset();
  } else if (v.kind == ColumnKind::kText) {
    if (!params_[i]) params_[i].emplace();
    params_[i]->assign(v.bytes);
    size_t keep = std::min(v.bytes.size(), kMaxReportedValue);
    arena_.append(v.bytes.substr(0, keep));
    ref.length = static_cast<int32_t>(keep);
    ref.cut = keep < v.bytes.size();
  } else {
    // Binary values need the binary protocol option, which walferry does not request; unchanged TOAST never
    // reaches here (ShapeFor leaves such columns out).
    throw Error(ErrorKind::kProtocol, std::string("unexpected column kind '") + static_cast<char>(v.kind) +
                                          "' in a value to apply");
  }
  values_.push_back(ref);
  pending_.back().value_count++;
}

void Applier::SendChange(const Relation& rel, const TargetDescription& target, const StatementShape& shape,
                         const TupleData& set_tuple, const TupleData* where_tuple) {
  if (!in_source_txn_) throw Error(ErrorKind::kProtocol, "row change outside a transaction");
  if (!options_.suspended.empty() && Suspended(TargetTable(rel))) {
    RecordSuspended(rel, target, shape, set_tuple, where_tuple);
    return;
  }
  if (options_.in_flight_footprint) {
    const pg::TableName table = TargetTable(rel);
    AfterInFlight(&table);
  }
  // Before the Parse of a new statement: a Parse in an aborted transaction block would fail.
  if (Guarded()) SendControl(kRollbackTo, {});
  uint32_t id = StatementFor(rel, target, shape);
  Queue(ItemKind::kChange, shape.kind != ChangeKind::kInsert, id, static_cast<uint32_t>(values_.size()));
  const TupleData& w = where_tuple ? *where_tuple : set_tuple;
  for (int c : shape.set_cols) AddParam(set_tuple.columns.at(c));
  for (int c : shape.where_cols) AddParam(w.columns.at(c));
  for (int c : shape.guard_cols) AddParam(set_tuple.columns.at(c));
  size_t n = shape.set_cols.size() + shape.where_cols.size() + shape.guard_cols.size();
  conn_.SendPrepared(statements_[id].name, std::span<const pg::Param>(params_.data(), n));
  ++txn_rows_;
  if (Guarded()) EndGuardedChange(shape.kind != ChangeKind::kInsert);
  FlushIfFull();
}

NetTable* Applier::NetFor(const Relation& rel, const TargetDescription& target) {
  if (!batch_txn_ || !in_source_txn_) return nullptr;
  const uint32_t id = rel.relation_id.value;
  if (auto it = net_.find(id); it != net_.end()) return &it->second.table;
  auto [known, inserted] = netted_rel_.try_emplace(id, false);
  std::vector<int> key_cols;
  for (size_t c = 0; c < rel.columns.size(); ++c) {
    if (rel.columns[c].is_key()) key_cols.push_back(static_cast<int>(c));
  }
  if (inserted) {
    // Netted only when a row is found by its key alone, as the target's own primary key or unique index, and
    // every column is known on the target: otherwise the per-change statements are the exact ones (REPLICA
    // IDENTITY FULL compares whole images; GENERATED ALWAYS identity columns are guarded per change).
    const pg::TableName table = TargetTable(rel);
    bool ok = options_.batch_tables.contains(table) && !Suspended(table) && target.found &&
              (target.relkind == 'r' || target.relkind == 'p') &&
              (rel.replica_identity == ReplicaIdentity::kDefault || rel.replica_identity == ReplicaIdentity::kIndex) &&
              !key_cols.empty() && target.unique_key == key_cols && target.always_identity.empty() &&
              target.types.size() == rel.columns.size() &&
              std::none_of(target.types.begin(), target.types.end(), [](const std::string& t) { return t.empty(); });
    known->second = ok;
    if (!ok && options_.batch_tables.contains(table)) {
      Log()->info("set {}: {} is in apply: batch but is applied per change: {}", options_.set_name, table.Display(),
                  rel.replica_identity == ReplicaIdentity::kFull ? "REPLICA IDENTITY FULL"
                  : !target.always_identity.empty()             ? "it has a GENERATED ALWAYS identity column"
                                                                 : "its replica identity is not the target's key");
    }
  }
  if (!known->second) return nullptr;
  if (!options_.batch_paused_until.empty()) {
    auto paused = options_.batch_paused_until.find(TargetTable(rel));
    if (paused != options_.batch_paused_until.end() && std::chrono::steady_clock::now() < paused->second) {
      return nullptr;
    }
  }
  auto [it, added] = net_.try_emplace(id, NetEntry{NetTable(rel, std::move(key_cols)), target});
  net_order_.push_back(id);
  return &it->second.table;
}

void Applier::NetRefused() { FlushNet(); }

void Applier::Netted(const NetTable& net, uint64_t bytes_before) {
  ++txn_rows_;
  ++net_changes_;
  net_bytes_ = net_bytes_ + net.bytes() - bytes_before;
  // Applied in parts: a part is applied by the target while the next one is read and netted (FlushNet).
  if (net_bytes_ >= options_.batch_max_bytes) {
    FlushNet();
  } else if (net_changes_ >= options_.batch_flush_changes) {
    FlushNet(/*part=*/true);
  }
}

void Applier::WaitInFlight() { options_.finish_in_flight(); }

void Applier::AfterInFlight(const pg::TableName* table) {
  if (!options_.in_flight_footprint) return;
  if (!table || options_.in_flight_footprint(*table)) WaitInFlight();
  if (table) footprint_[*table].whole = true;
}

const TableFootprint* Applier::FootprintOf(const pg::TableName& table) const {
  auto it = footprint_.find(table);
  return it == footprint_.end() ? nullptr : &it->second;
}

namespace {

bool SharesKey(const TableFootprint& f, const NetTable& rows) {
  return f.whole || std::any_of(rows.keys().begin(), rows.keys().end(), [&](const auto& k) {
           return f.keys.contains(TableFootprint::KeyHash(k.first));
         });
}

}  // namespace

void Applier::FlushNet(bool part) {
  if (net_.empty()) return;
  // Two apply connections: net rows of a key that the other connection's group in flight changed must not run
  // before that group commits (they would not see its rows, or wait for its locks while it waits for this
  // connection). In a part they stay for a later flush; any other flush waits for that group first.
  std::vector<NetEntry> now_split;  // rows of kept tables that can go now
  std::vector<uint32_t> order;      // what goes now, by relation id (now_split's are not in net_)
  std::vector<uint32_t> kept;       // relation ids with rows left in net_
  if (options_.in_flight_footprint) {
    bool wait = false;
    for (uint32_t id : net_order_) {
      const NetEntry& e = net_.at(id);
      const TableFootprint* f = options_.in_flight_footprint(TargetTable(e.table.relation()));
      if (f && SharesKey(*f, e.table)) {
        if (!part) {
          wait = true;
          break;
        }
        kept.push_back(id);
      }
    }
    if (wait) WaitInFlight();
  }
  now_split.reserve(kept.size());
  for (uint32_t id : net_order_) {
    if (std::find(kept.begin(), kept.end(), id) == kept.end()) {
      order.push_back(id);
      continue;
    }
    NetEntry& e = net_.at(id);
    const TableFootprint* f = options_.in_flight_footprint(TargetTable(e.table.relation()));
    if (f->whole) continue;
    NetTable free =
        e.table.Split([f](const std::string& key) { return !f->keys.contains(TableFootprint::KeyHash(key)); });
    if (!free.rows().empty()) now_split.push_back(NetEntry{std::move(free), e.target});
  }
  if (order.empty() && now_split.empty()) {
    net_changes_ = 0;  // every row waits for the group in flight: look again after another part
    Log()->debug("set {}: batch apply: every net row kept until the batch in flight commits", options_.set_name);
    return;
  }
  // Every result first: a per-change failure is that change's own, reported as in transactional apply; the
  // set-based statements sent by the last flush must be done before a staging table is refilled (and their
  // failure is this group's fallback); COPY needs an empty pipeline.
  const auto wait_start = std::chrono::steady_clock::now();
  Flush();
  const auto stage_start = std::chrono::steady_clock::now();
  net_sent_.clear();
  conn_.ExitPipeline();
  uint64_t net_rows = 0;
  std::vector<NetEntry*> staged;
  for (uint32_t id : order) staged.push_back(&net_.at(id));
  for (NetEntry& e : now_split) staged.push_back(&e);
  for (NetEntry* e : staged) {
    const pg::TableName table = TargetTable(e->table.relation());
    try {
      for (NetStatement& st : batch_applier_.Stage(conn_, e->table, e->target)) {
        net_rows += st.rows;
        net_sent_.push_back({table, std::move(st)});
      }
    } catch (const Error& err) {
      if (!conn_.IsOk() || ClassifyFailure(err) == FailureClass::kTransient ||
          ClassifyFailure(err) == FailureClass::kPermanentConnection) {
        throw;
      }
      throw BatchFallback(err, table, group_first_lsn_, txn_final_lsn_);
    }
    batch_group_.changes_netted += e->table.changes();
    if (options_.in_flight_footprint) {
      TableFootprint& f = footprint_[table];
      for (const auto& [key, i] : e->table.keys()) f.keys.insert(TableFootprint::KeyHash(key));
    }
  }
  conn_.EnterPipeline();
  // The set-based statements go in their own sync group; their results are read by the next Flush (the next
  // flush, the group's commit) or when the pipeline is full, so the target applies them while walferry reads on.
  for (uint32_t i = 0; i < net_sent_.size(); ++i) {
    conn_.SendQuery(net_sent_[i].statement.sql, {});
    Queue(ItemKind::kNet, false, i, static_cast<uint32_t>(values_.size()));
  }
  SendSync();
  batch_group_.net_rows += net_rows;
  Log()->debug("set {}: batch apply: {} net rows of {} tables in {} set-based statements; us: {} waiting for the "
               "target, {} staging",
               options_.set_name, net_rows, staged.size(), net_sent_.size(),
               std::chrono::duration_cast<std::chrono::microseconds>(stage_start - wait_start).count(),
               std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - stage_start)
                   .count());
  ++batch_group_.flushes;
  net_changes_ = 0;
  if (kept.empty()) {
    net_.clear();
    net_order_.clear();
    net_bytes_ = 0;
    return;
  }
  for (uint32_t id : order) net_.erase(id);
  net_order_ = std::move(kept);
  net_bytes_ = 0;
  size_t kept_rows = 0;
  for (uint32_t id : net_order_) {
    net_bytes_ += net_.at(id).table.bytes();
    kept_rows += net_.at(id).table.rows().size();
  }
  Log()->debug("set {}: batch apply: {} net rows of {} tables kept until the batch in flight commits (their keys are "
               "its too)",
               options_.set_name, kept_rows, net_order_.size());
}

void Applier::Apply(const Relation& rel, const Insert& change) {
  const TargetDescription& target = Describe(rel);
  if (NetTable* net = NetFor(rel, target)) {
    const uint64_t before = net->bytes();
    if (net->AddInsert(change.new_tuple)) {
      Netted(*net, before);
      return;
    }
    NetRefused();
  }
  SendChange(rel, target, ShapeFor(rel, change, target), change.new_tuple, nullptr);
}

void Applier::Apply(const Relation& rel, const Update& change) {
  const TargetDescription& target = Describe(rel);
  if (NetTable* net = NetFor(rel, target)) {
    const uint64_t before = net->bytes();
    if (net->AddUpdate(change.old, change.new_tuple)) {
      Netted(*net, before);
      return;
    }
    NetRefused();
  }
  SendChange(rel, target, ShapeFor(rel, change, target), change.new_tuple, change.old ? &change.old->tuple : nullptr);
}

void Applier::Apply(const Relation& rel, const Delete& change) {
  const TargetDescription& target = Describe(rel);
  if (NetTable* net = NetFor(rel, target)) {
    const uint64_t before = net->bytes();
    if (net->AddDelete(change.old.tuple)) {
      Netted(*net, before);
      return;
    }
    NetRefused();
  }
  SendChange(rel, target, ShapeFor(rel, change, target), change.old.tuple, nullptr);
}

void Applier::Apply(const std::vector<const Relation*>& rels, const Truncate& change) {
  if (!in_source_txn_) throw Error(ErrorKind::kProtocol, "TRUNCATE outside a transaction");
  FlushNet();  // a barrier: every net row before it is applied first
  AfterInFlight(nullptr);  // and the other connection's group (a TRUNCATE waits for every lock on its tables)
  if (options_.in_flight_footprint) {
    for (const Relation* r : rels) footprint_[TargetTable(*r)].whole = true;
  }
  // pgoutput lists every table the source truncated, also those its CASCADE reached: apply exactly those, never
  // with CASCADE (which could empty target-only tables or tables of other sets) and with ONLY (which keeps legacy
  // inheritance children the source did not truncate; they are listed themselves when it did), except on a
  // partitioned target table, where ONLY is an error and the partitions are the table's own rows.
  std::vector<const Relation*> applied;
  for (const Relation* r : rels) {
    if (!options_.suspended.empty() && Suspended(TargetTable(*r))) {
      SendException(TargetTable(*r), TruncateSql({r}, change.restart_identity),
                    "not applied: the table is suspended (cdc.error_policy suspend-table)");
    } else {
      applied.push_back(r);
    }
  }
  if (applied.empty()) return;
  // A table that a table of ANOTHER set references on the target cannot be truncated without CASCADE, and CASCADE
  // would empty that set's table at this set's stream position. That set empties its table at its own position
  // (the source's CASCADE reached it, so its own stream lists it), so here the rows are deleted instead: with
  // session_replication_role = replica the foreign key neither checks nor cascades, as for every applied change.
  // A referencing table outside every set (target-only) still makes the TRUNCATE fail loudly (docs/cdc.md).
  std::vector<const Relation*> truncated;
  for (const Relation* r : applied) {
    if (ReferencedOnlyFromOtherSets(*r, applied)) {
      SendTruncate(std::string("DELETE FROM ") + (target_columns_.Partitioned(*r) ? "" : "ONLY ") +
                       TargetTable(*r).Quoted(),
                   {TargetTable(*r)});
    } else {
      truncated.push_back(r);
    }
  }
  if (truncated.empty()) return;
  std::vector<pg::TableName> tables;
  for (const Relation* r : truncated) tables.push_back(TargetTable(*r));
  SendTruncate(TruncateSql(truncated, change.restart_identity), std::move(tables));
}

bool Applier::ReferencedOnlyFromOtherSets(const Relation& rel, const std::vector<const Relation*>& truncated) {
  if (!replica_role_ || options_.other_sets_tables.empty()) return false;
  bool other_set = false;
  for (const pg::TableName& ref : target_columns_.ReferencingTables(TargetTable(rel))) {
    bool also_truncated = false;
    for (const Relation* t : truncated) also_truncated = also_truncated || TargetTable(*t) == ref;
    if (also_truncated) continue;
    if (options_.other_sets_tables.count(ref) == 0) return false;
    other_set = true;
  }
  return other_set;
}

void Applier::ApplyPartitionTruncate(const pg::TableName& partition, const pg::TableName& root) {
  if (!in_source_txn_) throw Error(ErrorKind::kProtocol, "partition TRUNCATE outside a transaction");
  FlushNet();  // a barrier
  AfterInFlight(nullptr);
  if (options_.in_flight_footprint) {
    footprint_[partition].whole = true;
    footprint_[root].whole = true;
  }
  // ONLY: the source's trigger fires on leaf partitions only; a sub-partitioned one is announced leaf by leaf.
  std::string sql = "TRUNCATE ONLY " + partition.Quoted();
  if (!options_.suspended.empty() && Suspended(root)) {
    SendException(root, sql, "not applied: the table is suspended (cdc.error_policy suspend-table)");
    return;
  }
  SendTruncate(sql, {partition});
}

void Applier::SendTruncate(const std::string& sql, std::vector<pg::TableName> tables) {
  if (Guarded()) SendControl(kRollbackTo, {});
  uint32_t id = static_cast<uint32_t>(statements_.size());
  // Kept as a "statement" so a failure names it; TRUNCATE is rare, the entry is small.
  Prepared st{"", sql, tables.front(), {}, std::move(tables)};
  statements_.push_back(std::move(st));
  conn_.SendQuery(sql, {});
  Queue(ItemKind::kChange, false, id, static_cast<uint32_t>(values_.size()));
  if (Guarded()) EndGuardedChange(false);
  FlushIfFull();
}

std::string Applier::TruncateSql(const std::vector<const Relation*>& rels, bool restart_identity) {
  std::string sql = "TRUNCATE ";
  for (size_t i = 0; i < rels.size(); ++i) {
    sql += i ? ", " : "";
    if (!target_columns_.Partitioned(*rels[i])) sql += "ONLY ";
    sql += TargetTable(*rels[i]).Quoted();
  }
  if (restart_identity) sql += " RESTART IDENTITY";
  return sql;
}

pg::TableName Applier::ChargedTable(const Prepared& st, const Error& error) {
  if (st.tables.size() < 2) return st.table;
  // One statement names several tables: the server's message names the one it refused ("relation "s.t" does not
  // exist", "permission denied for table t", "Table "w" references "t"" where w is not truncated).
  std::string text = error.message() + "\n" + error.detail();
  for (const pg::TableName& t : st.tables) {
    for (const std::string& form : {"\"" + t.name + "\"", "\"" + t.schema + "." + t.name + "\"",
                                    "for table " + t.name}) {
      size_t at = text.find(form);
      if (at == std::string::npos) continue;
      // "for table t" must not match "for table tt".
      size_t end = at + form.size();
      if (form.front() == '"' || end == text.size() || !(std::isalnum(static_cast<unsigned char>(text[end])) ||
                                                         text[end] == '_')) {
        return t;
      }
    }
  }
  return st.table;
}

void Applier::RecordSuspended(const Relation& rel, const TargetDescription& target, const StatementShape& shape,
                              const TupleData& set_tuple, const TupleData* where_tuple) {
  std::string statement = BuildStatement(rel, target, shape).sql;
  const TupleData& w = where_tuple ? *where_tuple : set_tuple;
  std::vector<const ColumnValue*> values;
  for (int c : shape.set_cols) values.push_back(&set_tuple.columns.at(c));
  for (int c : shape.where_cols) values.push_back(&w.columns.at(c));
  for (int c : shape.guard_cols) values.push_back(&set_tuple.columns.at(c));
  if (!values.empty()) statement += "\n-- values:";
  for (size_t i = 0; i < values.size(); ++i) {
    const ColumnValue& v = *values[i];
    bool cut = v.bytes.size() > kMaxReportedValue;
    AppendValue(statement, i,
                v.kind == ColumnKind::kNull ? std::nullopt
                                            : std::optional<std::string_view>(v.bytes.substr(0, kMaxReportedValue)),
                cut);
  }
  SendException(TargetTable(rel), statement, "not applied: the table is suspended (cdc.error_policy suspend-table)");
}

void Applier::SendException(const pg::TableName& table, const std::string& statement, const std::string& error) {
  std::vector<pg::Param> p = {options_.set_name, table.schema, table.name, statement, error};
  SendControl(exception_sql_, p);
  ++txn_exceptions_;
  FlushIfFull();
}

void Applier::EndGuardedChange(bool check_row_count) {
  if (!check_row_count) {
    SendControl(kRelease, {});
    SendControl(kSavepoint, {});
    SendSync();
    return;
  }
  // Whether the change stays depends on its row count, known only once its result is read: read it before the
  // savepoint is released (a round trip). A skipped change stays unreleased and the next ROLLBACK TO SAVEPOINT
  // (which every guarded statement and EndTransaction send first) undoes it, so it is never committed.
  SendSync();
  last_change_skipped_ = false;
  ReadResults(pending_.size());
  if (last_change_skipped_) return;
  SendControl(kRelease, {});
  SendControl(kSavepoint, {});
}

void Applier::Skip(const Pending& item, const Error& error) {
  last_change_skipped_ = true;
  const pg::TableName table = ChargedTable(statements_[item.statement], error);
  Log()->error("set {}: cdc.error_policy log-and-continue: NOT APPLIED: a change to {} in the transaction committed "
               "at {}: {}; recorded in {}.apply_exceptions, the rest of the transaction is applied",
               options_.set_name, table.Display(), item.txn.ToString(), error.what(), options_.control_schema);
  skipped_.push_back({table, RenderStatement(item), error.what()});
}

void Applier::QueueSkipped() {
  if (skipped_.empty()) return;
  std::vector<Skipped> rows = std::move(skipped_);
  skipped_.clear();
  SendControl(kRollbackTo, {});
  for (const Skipped& s : rows) {
    std::vector<pg::Param> p = {options_.set_name, s.table.schema, s.table.name, s.statement, s.error};
    SendControl(exception_sql_, p);
    ++txn_exceptions_;
  }
  SendControl(kRelease, {});
  SendControl(kSavepoint, {});
  SendSync();
}

void Applier::SendSync() {
  conn_.PipelineSync();
  Queue(ItemKind::kSync);
}

void Applier::SendControl(std::string_view sql, std::span<const pg::Param> params) {
  conn_.SendQuery(sql, params);
  Queue(ItemKind::kControl);
}

void Applier::OnSubtransaction(Xid top, Xid subxid) {
  if (subxid == top || savepoint_ids_.contains(subxid.value)) return;
  if (!in_source_txn_ || Guarded()) throw Error(ErrorKind::kInternal, "a subtransaction savepoint out of place");
  SendControl("SAVEPOINT walferry_sub_" + std::to_string(subxid.value), {});
  savepoints_.emplace_back(subxid, txn_rows_);
  savepoint_ids_.insert(subxid.value);
  FlushIfFull();
}

void Applier::RollbackSubtransaction(Xid subxid) {
  if (!savepoint_ids_.contains(subxid.value)) return;
  auto it = std::find_if(savepoints_.begin(), savepoints_.end(), [&](const auto& sp) { return sp.first == subxid; });
  if (!in_source_txn_ || Guarded()) throw Error(ErrorKind::kInternal, "a subtransaction rollback out of place");
  SendControl("ROLLBACK TO SAVEPOINT walferry_sub_" + std::to_string(subxid.value), {});
  txn_rows_ = it->second;
  for (auto undone = it; undone != savepoints_.end(); ++undone) savepoint_ids_.erase(undone->first.value);
  savepoints_.erase(it, savepoints_.end());
  FlushIfFull();
}

void Applier::EndTransaction(const cdc::Commit& commit) {
  if (!in_source_txn_) throw Error(ErrorKind::kProtocol, "Commit without Begin");
  if (Guarded()) {
    // Undo a failed last change, learn every outcome, then record the skipped changes in this transaction, while
    // txn_final_lsn_ still names the source transaction they belong to.
    SendControl(kRollbackTo, {});
    Flush();
    QueueSkipped();
  }
  in_source_txn_ = false;
  group_last_ = commit;
  ++group_transactions_;
  group_rows_ += txn_rows_;
  group_exceptions_ += txn_exceptions_;
}

cdc::Commit Applier::CommitGroup() { return FinishGroup(); }

void Applier::CloseGroup() {
  if (!group_open() || in_source_txn_) throw Error(ErrorKind::kInternal, "CommitGroup without an ended transaction");
  FlushNet();
  group_closed_ = true;
}

cdc::Commit Applier::FinishGroup() {
  if (!group_closed_) CloseGroup();
  std::vector<pg::Param> cp = {options_.set_name, group_last_->end_lsn.ToString(),
                               FormatPgTimestamp(group_last_->commit_time)};
  if (std::any_of(pending_.begin(), pending_.end(),
                  [](const Pending& p) { return p.expect_one_row || p.kind == ItemKind::kNet; })) {
    // "Exactly 1 row" (and a set-based statement's row count) is checked by the client when it reads the result:
    // read them before COMMIT is queued, or the server commits a change that matched no row (and the checkpoint
    // past it) before walferry can object.
    Flush();
  }
  SendControl(checkpoint_sql_, cp);
  SendControl("COMMIT", {});
  Flush();
  in_transaction_ = false;
  rows_applied_ += group_rows_;
  exceptions_recorded_ += group_exceptions_;
  group_transactions_ = group_rows_ = group_exceptions_ = 0;
  batch_committed_.changes_netted += batch_group_.changes_netted;
  batch_committed_.net_rows += batch_group_.net_rows;
  batch_committed_.flushes += batch_group_.flushes;
  batch_committed_.batches += batch_group_.flushes > 0 ? 1 : 0;
  batch_group_ = {};
  net_sent_.clear();
  batch_applier_.OnTransactionEnd();
  footprint_.clear();
  group_closed_ = false;
  return *group_last_;
}

void Applier::FlushIfFull() {
  if (pending_.size() - batch_start_ < kMaxPending && arena_.size() - batch_arena_start_ < kMaxPendingBytes) return;
  // Close the current batch with a sync and read the results of the batch before it, which the target has most
  // likely executed meanwhile: the target works on one batch while walferry decodes and sends the next.
  if (pending_.empty() || pending_.back().kind != ItemKind::kSync) SendSync();
  ReadResults(batch_start_);
  batch_start_ = pending_.size();
  batch_arena_start_ = arena_.size();
  QueueSkipped();
}

void Applier::Flush() {
  SendSync();
  ReadResults(pending_.size());
}

void Applier::ReadResults(size_t end) {
  bool aborted = false;  // an earlier statement of the current sync group failed: the rest report "aborted"
  for (size_t i = 0; i < end; ++i) {
    const Pending& item = pending_[i];
    if (item.kind == ItemKind::kSync) {
      if (!conn_.IsSync(NextResult())) throw Error(ErrorKind::kProtocol, "target: expected a sync");
      aborted = false;
      continue;
    }
    if (item.kind == ItemKind::kNet) {
      ReadNetResult(item);
      continue;
    }
    pg::Result r;
    try {
      r = NextResult();
    } catch (Error& e) {
      if (e.kind() == ErrorKind::kConnection || !conn_.IsOk()) throw;
      if (!aborted && RetriableSqlState(e.sqlstate(), e.message())) ThrowRetriable(item, std::move(e));
      // log-and-continue skips only the change's own failures (data, integrity): anything else fails the set.
      bool skippable = Guarded() && !aborted && item.kind == ItemKind::kChange &&
                       ClassifyFailure(e, statements_[item.statement].sql) == FailureClass::kChange;
      if (!aborted && !skippable) {
        if (item.kind == ItemKind::kControl) throw;
        FailOn(item, std::move(e));
      }
      NextResult();  // the end of this statement's results
      if (skippable) Skip(item, e);
      aborted = true;
      continue;
    }
    if (!r) throw conn_.ConnectionError("target: reading pipelined results");
    if (item.expect_one_row && r.AffectedRows() != 1) {
      const NoRowExplanation& why = statements_[item.statement].no_row;
      Error e = r.AffectedRows() == 0 && !why.message.empty()
                    ? Error(ErrorKind::kData, why.message).WithHint(why.hint)
                    : Error(ErrorKind::kData, std::to_string(r.AffectedRows()) +
                                                  " target rows matched the change's replica identity; exactly 1 must")
                          .WithHint("the target differs from the source for this row: run walferry validate");
      if (!Guarded()) FailOn(item, std::move(e));
      Skip(item, e);
    }
    if (NextResult()) throw Error(ErrorKind::kProtocol, "target: more than one result for a statement");
  }
  // Forget the items read, and their report copies; later items' value indexes and offsets move down.
  size_t nvalues = 0;
  for (size_t i = 0; i < end; ++i) nvalues += pending_[i].value_count;
  size_t nbytes = nvalues < values_.size() ? values_[nvalues].offset : arena_.size();
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(end));
  values_.erase(values_.begin(), values_.begin() + static_cast<std::ptrdiff_t>(nvalues));
  arena_.erase(0, nbytes);
  for (Pending& p : pending_) {
    if (p.value_count > 0) p.first_value -= static_cast<uint32_t>(nvalues);
  }
  for (ValueRef& v : values_) v.offset -= static_cast<uint32_t>(nbytes);
  batch_start_ = std::min(batch_start_, pending_.size());
  batch_arena_start_ = std::min(batch_arena_start_, arena_.size());
}

void Applier::ReadNetResult(const Pending& item) {
  const NetSent& sent = net_sent_.at(item.statement);
  pg::Result r;
  try {
    r = NextResult();
  } catch (Error& e) {
    if (e.kind() == ErrorKind::kConnection || !conn_.IsOk()) throw;
    const FailureClass failure = ClassifyFailure(e);
    if (failure == FailureClass::kTransient) ThrowRetriable(item, std::move(e));
    if (failure == FailureClass::kPermanentConnection) throw;
    // The Applier is destroyed after a fallback (closing the connection rolls the group back): nothing to drain.
    e.AddContext("batch apply of " + sent.table.Display() + ": " + sent.statement.sql);
    throw BatchFallback(e, sent.table, group_first_lsn_, txn_final_lsn_);
  }
  if (!r) throw conn_.ConnectionError("target: reading pipelined results");
  try {
    BatchApplier::CheckRows(sent.statement, r.AffectedRows(), sent.table);
  } catch (const Error& e) {
    throw BatchFallback(e, sent.table, group_first_lsn_, txn_final_lsn_);
  }
  if (NextResult()) throw Error(ErrorKind::kProtocol, "target: more than one result for a statement");
}

void Applier::DrainToSync() {
  while (true) {
    if (!conn_.IsOk()) throw conn_.ConnectionError("target: waiting for the pipeline sync");
    try {
      pg::Result r = NextResult();
      if (conn_.IsSync(r)) return;
    } catch (const Error&) {
      // Results of statements skipped after an earlier failure (PGRES_PIPELINE_ABORTED): already reported.
      if (!conn_.IsOk()) throw;
    }
  }
}

pg::Result Applier::NextResult() {
  if (options_.while_waiting) {
    auto start = std::chrono::steady_clock::now();
    while (!conn_.WaitForResult(kWaitingInterval)) {
      options_.while_waiting(
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start));
    }
  }
  return conn_.NextPipelineResult();
}

void Applier::ThrowRetriable(const Pending& item, Error error) {
  try {
    DrainToSync();
  } catch (const Error&) {
  }
  // Lock and statement timeouts are timeouts to the caller (Worker::Retriable retries ErrorKind::kTimeout).
  if (error.sqlstate() == "55P03" || error.sqlstate() == "57014") {
    Error timeout(ErrorKind::kTimeout, error.message());
    timeout.WithSqlState(error.sqlstate()).WithDetail(error.detail()).WithHint(error.hint());
    for (auto it = error.context().rbegin(); it != error.context().rend(); ++it) timeout.AddContext(*it);
    error = std::move(timeout);
  }
  error.AddContext("applying the transaction committed at " + item.txn.ToString() + " (retriable: the change is "
                   "neither skipped nor recorded)");
  throw error;
}

void Applier::FailOn(const Pending& item, Error error) {
  const Prepared& st = statements_[item.statement];
  const pg::TableName table = ChargedTable(st, error);
  failed_ = FailedChange{table, RenderStatement(item), item.txn};
  // Reads the rest so the connection is consistent; the transaction stays aborted and is never committed.
  try {
    DrainToSync();
  } catch (const Error&) {
  }
  if (error.sqlstate() == "428C9") {
    // UPDATE cannot set a GENERATED ALWAYS identity column (OVERRIDING exists only for INSERT).
    error.WithHint("the source changed a GENERATED ALWAYS identity column of " + st.table.Display() +
                   "; on the target run ALTER TABLE " + st.table.Quoted() +
                   " ALTER COLUMN <column> SET GENERATED BY DEFAULT for the migration (set it back at cutover), "
                   "then rerun walferry cdc");
  }
  error.AddContext("applying the transaction committed at " + item.txn.ToString() + " to " +
                   table.Display() + ": " + st.sql);
  throw error;
}

std::string Applier::RenderStatement(const Pending& item) const {
  std::string out = statements_[item.statement].sql;
  if (item.value_count == 0) return out;
  out += "\n-- values:";
  for (uint32_t i = 0; i < item.value_count; ++i) {
    const ValueRef& v = values_[item.first_value + i];
    std::optional<std::string_view> text;
    if (v.length >= 0) text = std::string_view(arena_).substr(v.offset, static_cast<size_t>(v.length));
    AppendValue(out, i, text, v.cut);
  }
  return out;
}

}  // namespace walferry::cdc
