#include "cdc/status_writer.h"

#include "sql/sql.h"

namespace walferry::cdc {
namespace {
pg::Param LsnParam(Lsn lsn) { return lsn.valid() ? pg::Param(lsn.ToString()) : pg::Param(); }
pg::Param TextParam(const std::string& s) { return s.empty() ? pg::Param() : pg::Param(s); }
}  // namespace

StatusWriter::StatusWriter(pg::Connection target, std::string schema, std::string set_name)
    : conn_(std::move(target)), schema_(std::move(schema)), set_name_(std::move(set_name)),
      update_sql_(WithSchema(sql::Get("cdc/status_update"), schema_)) {
  // Each status write flushes the target's WAL through its own commit record, and with it every apply commit
  // before it: the worker uses that to confirm its last commits at once when a session ends (a server default of
  // synchronous_commit = off must not take that away; `local` never waits for a standby).
  conn_.Exec("SET synchronous_commit = local");
}

void StatusWriter::Write(const StatusSnapshot& s) {
  WithContext("updating the status of set " + set_name_, [&] {
    conn_.Exec(update_sql_,
               {pg::Param(set_name_), pg::Param(s.task_status), LsnParam(s.source_current_position),
                TextParam(s.source_current_timestamp), LsnParam(s.source_tail_position),
                TextParam(s.source_timestamp_applied), LsnParam(s.applied_lsn),
                s.latency_seconds ? pg::Param(std::to_string(*s.latency_seconds)) : pg::Param(),
                pg::Param(std::to_string(s.pending_bytes)), pg::Param(std::to_string(s.rows_per_second)),
                TextParam(s.last_error), pg::Param(std::to_string(s.changes_applied)),
                pg::Param(std::to_string(s.transactions_applied)), pg::Param(std::to_string(s.groups_applied)),
                pg::Param(std::to_string(s.retries)), pg::Param(std::to_string(s.batches)),
                pg::Param(std::to_string(s.rows_collapsed)), pg::Param(std::to_string(s.batch_replays)),
                TextParam(s.last_batch_replay), pg::Param(std::to_string(s.streamed_applied)),
                pg::Param(std::to_string(s.streamed_early)), pg::Param(std::to_string(s.early_stopped)),
                pg::Param(std::to_string(s.streamed_aborted)), pg::Param(std::to_string(s.batches_pipelined)),
                pg::Param(std::to_string(s.pipeline_waits))});
  });
}

void StatusWriter::RecordException(const pg::TableName& table, const std::string& statement,
                                   const std::string& error) {
  WithContext("recording an apply exception for set " + set_name_, [&] {
    conn_.Exec(WithSchema(sql::Get("cdc/insert_exception"), schema_),
               {pg::Param(set_name_), pg::Param(table.schema), pg::Param(table.name), pg::Param(statement),
                pg::Param(error)});
  });
}

StatusWriter::TargetWal StatusWriter::ReadTargetWal() {
  return WithContext("reading the target's WAL positions", [&] {
    pg::Result r = conn_.Exec(sql::Get("cdc/target_wal"));
    return TargetWal{Lsn::Parse(r.Get(0, 0)), Lsn::Parse(r.Get(0, 1))};
  });
}

Lsn StatusWriter::ReadRecordedConfirmed() {
  return WithContext("reading the position recorded as told to the slot of set " + set_name_, [&] {
    pg::Result r = conn_.Exec(WithSchema(sql::Get("cdc/slot_confirmed_get"), schema_), {pg::Param(set_name_)});
    return r.GetOpt(0, 0) ? Lsn::Parse(r.Get(0, 0)) : Lsn{};
  });
}

void StatusWriter::RecordConfirmed(Lsn confirmed) {
  WithContext("recording the position told to the slot of set " + set_name_, [&] {
    conn_.Exec(WithSchema(sql::Get("cdc/slot_confirmed_record"), schema_),
               {pg::Param(set_name_), pg::Param(confirmed.ToString())});
  });
}

void StatusWriter::CreateDmsViews() {
  WithContext("creating the DMS-compatible views", [&] { conn_.Exec(WithSchema(sql::Get("cdc/dms_views"), schema_)); });
}

}  // namespace walferry::cdc
