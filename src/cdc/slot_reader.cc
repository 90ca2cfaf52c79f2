#include "cdc/slot_reader.h"

#include <unistd.h>

#include <thread>

#include "control/control_schema.h"
#include "sql/sql.h"

namespace walferry::cdc {
namespace {

struct Seen {
  SlotReader reader;
  std::optional<std::string> reply_time;
};

std::optional<Seen> Look(pg::Connection& source, const std::string& slot) {
  pg::Result r = source.Exec(sql::Get("cdc/slot_reader"), {pg::Param(slot)});
  if (r.rows() == 0) return std::nullopt;
  return Seen{{std::string(r.Get(0, 0)), std::string(r.Get(0, 1)), std::string(r.Get(0, 2)),
               std::string(r.Get(0, 3))},
              r.GetOpt(0, 4)};
}

}  // namespace

std::string ReaderApplicationName(const std::string& set) {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::string name = "walferry cdc " + set + " " + std::to_string(getpid()) + "@" + host;
  return name.substr(0, 63);
}

std::optional<SlotReader> LiveReader(pg::Connection& source, const std::string& slot, const std::string& set,
                                     std::chrono::milliseconds watch) {
  std::optional<Seen> first = Look(source, slot);
  if (!first || first->reader.application_name == ReaderApplicationName(set)) return std::nullopt;
  auto deadline = std::chrono::steady_clock::now() + watch;
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    std::optional<Seen> now = Look(source, slot);
    if (!now) return std::nullopt;  // released: the reader was ending (e.g. a walferry just killed)
    if (now->reader.walsender_pid != first->reader.walsender_pid) {
      first = now;  // another reader took it meanwhile: watch that one
      if (first->reader.application_name == ReaderApplicationName(set)) return std::nullopt;
      continue;
    }
    if (now->reply_time && now->reply_time != first->reply_time) return now->reader;  // it answers: live
  }
  return std::nullopt;  // no answer within the watch: a dead connection, for the stale-reader rule
}

Error SecondReader(const std::string& set, const std::string& slot, const SlotReader& reader) {
  std::string who = "walsender pid " + reader.walsender_pid + " (application '" + reader.application_name +
                    "', client " + reader.client + ", connected " + reader.since + ")";
  Error e(ErrorKind::kPrecondition, "set " + set + " is already streamed by another process: its slot " + slot +
                                        " is read by " + who);
  e.WithDetail("nothing was changed: one set has one reader at a time; this process would only wait for the slot "
               "and take over when the other one stops");
  e.WithHint("stop that process first (the application name says its pid and host), or leave it running: walferry "
             "status shows its progress");
  return e;
}

void RefuseSetsReadElsewhere(const config::Config& config, const std::vector<std::string>& sets) {
  std::optional<pg::Connection> reached;
  try {
    reached.emplace(pg::Connection::Open(config.source, {.role = "source"}));
  } catch (const Error& e) {
    // The source is down right now (a failover, a restart): CDC retries its start as before, and each worker
    // makes the same check once the source answers (cdc::Worker).
    if (e.kind() == ErrorKind::kConnection) return;
    throw;
  }
  pg::Connection& source = *reached;
  const control::MigrationNames names = control::NamesFor(source, config.migration_id);
  for (const std::string& set : sets) {
    const std::string slot = control::SlotName(names, set);
    if (std::optional<SlotReader> reader = LiveReader(source, slot, set)) throw SecondReader(set, slot, *reader);
  }
}

}  // namespace walferry::cdc
