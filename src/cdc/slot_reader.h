// cdc/slot_reader.h
//
// One reader per set: a set's slot is read by one walferry process at a time. A second `walferry cdc` or `migrate`
// of a set that another walferry process streams is refused at once (Error kPrecondition, exit 2), naming the
// first reader, instead of retrying "slot is active" for cdc.retry_for and silently taking over when the first one
// stops (an operator who stops "the" CDC with Ctrl-C would not have stopped it).
//
// A reader is LIVE when its walsender's client keeps answering: walferry answers every second (cdc::Worker), so
// `reply_time` in pg_stat_replication moves within a few seconds. A reader whose answers have stopped is a dead
// connection (walferry killed, a connection cut that closed nothing): it is not refused here; the worker's
// stale-reader rule ends it (src/sql/cdc/end_stale_reader.sql). The reader's own earlier connection (same process,
// recognised by the application_name ReaderApplicationName gives the replication connection) is never a second
// reader. No state; thread-safe as long as each call has its own connection.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "config/config.h"
#include "pg/connection.h"

namespace walferry::cdc {

struct SlotReader {
  std::string walsender_pid;     // on the source
  std::string application_name;  // "walferry cdc <set> <os pid>@<host>" for walferry's readers
  std::string client;            // address, or "local"
  std::string since;             // backend start
};

// The application_name of this process's replication connection for `set` (at most 63 bytes): names the process
// (OS pid and host) so that another walferry can say who holds the slot, and so this process knows its own.
std::string ReaderApplicationName(const std::string& set);

// The live reader of `slot` that is not this process, watched for up to `watch` (its answers must move); nullopt
// when the slot is free or becomes free, when the reader is this process, or when it does not answer.
std::optional<SlotReader> LiveReader(pg::Connection& source, const std::string& slot, const std::string& set,
                                     std::chrono::milliseconds watch = std::chrono::milliseconds(3500));

// The refusal for a set whose slot `reader` streams: Error kPrecondition naming it, with what to do.
Error SecondReader(const std::string& set, const std::string& slot, const SlotReader& reader);

// Throws SecondReader for the first of `sets` whose slot another live walferry (or other client) reads. A source
// that cannot be reached now is no refusal: the workers check again when they connect.
void RefuseSetsReadElsewhere(const config::Config& config, const std::vector<std::string>& sets);

}  // namespace walferry::cdc
