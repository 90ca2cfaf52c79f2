#include "lifecycle/cleanup.h"

#include <algorithm>
#include <optional>
#include <set>

#include "common/error.h"
#include "common/log.h"
#include "control/control_schema.h"
#include "control/set_status.h"
#include "control/truncate_capture.h"
#include "lifecycle/fallback.h"
#include "pg/connection.h"
#include "pg/replication_stream.h"
#include "sql/sql.h"

namespace walferry::lifecycle {
namespace {

std::shared_ptr<spdlog::logger> Log() { return log::For("cleanup"); }

struct Slot {
  std::string name;
  bool active = false;
  std::optional<std::string> pid;
  std::string reader;  // who reads it, for people
};

std::vector<Slot> ListSlots(pg::Connection& source) {
  pg::Result r = source.Exec(sql::Get("lifecycle/walferry_slots"));
  std::vector<Slot> out;
  for (int i = 0; i < r.rows(); ++i) {
    Slot s{std::string(r.Get(i, 0)), r.GetBool(i, 1), r.GetOpt(i, 2), ""};
    if (s.active) {
      s.reader = "process " + s.pid.value_or("?") + " (application_name '" + r.GetOpt(i, 3).value_or("") +
                 "', client " + r.GetOpt(i, 4).value_or("local") + ")";
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::string> ListPublications(pg::Connection& source) {
  pg::Result r = source.Exec(sql::Get("lifecycle/walferry_publications"));
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.Get(i, 0));
  return out;
}

}  // namespace

CleanupReport Cleanup(const CleanupOptions& o) {
  CleanupReport report;
  pg::Connection source = pg::Connection::Open(o.source, {.role = o.server});
  auto on = [&](const std::string& what) { return o.server == "source" ? what : what + " on the " + o.server; };
  // After a cutover (or a switch back) the database is read-only for new sessions: walferry's own objects still go.
  source.Exec("SET default_transaction_read_only = off");
  std::set<std::string> owned;
  for (const std::string& set : o.sets) owned.insert(control::SlotName(set));  // slot and publication share it
  std::vector<Slot> slots = ListSlots(source);
  std::vector<std::string> publications = ListPublications(source);
  // The way back (walferry cutover --fallback) is live as long as its slot is on the target: it goes only with
  // `fallback`; without it, it is reported as kept. Found before anything is dropped.
  std::optional<std::string> fallback_set;
  if (!o.target.empty() && o.server == "source") {
    pg::Connection target = pg::Connection::Open(o.target, {.role = "target"});
    fallback_set = FallbackSetName(target, source);
    if (!o.fallback && control::ReadSlot(target, control::SlotName(*fallback_set))) {
      report.fallback_kept.push_back("slot " + control::SlotName(*fallback_set) + " on the target");
    }
  }

  // What goes: the configured sets' objects, and with --orphans every other walferry_* one.
  auto goes = [&](const std::string& name) { return owned.contains(name) || o.orphans; };
  for (const Slot& s : slots) {
    if (!goes(s.name)) report.orphans_kept.push_back(on("slot " + s.name));
  }
  for (const std::string& p : publications) {
    if (!goes(p)) report.orphans_kept.push_back(on("publication " + p));
  }

  // Refuse before dropping anything while a slot to drop is read.
  std::string busy;
  for (const Slot& s : slots) {
    if (goes(s.name) && s.active) busy += (busy.empty() ? "" : "; ") + s.name + " by " + s.reader;
  }
  if (!busy.empty() && !o.force) {
    throw Error(ErrorKind::kPrecondition, "slots being read on the " + o.server + ": " + busy)
        .WithDetail("nothing was dropped")
        .WithHint("stop walferry cdc / migrate for those sets first (Ctrl-C or SIGTERM), then run cleanup again; "
                  "or pass --force to end the reading walsender");
  }

  for (const std::string& pub : publications) {
    if (!goes(pub)) continue;
    for (const pg::TableName& leaf : control::DropTruncateTriggers(source, pub)) {
      report.dropped.push_back(on("trigger " + std::string(control::kTruncateTrigger) + " on " + leaf.Display()));
    }
    WithContext("dropping publication " + pub + " on the " + o.server,
                [&] { source.Exec("DROP PUBLICATION IF EXISTS " + pg::QuoteIdent(pub)); });
    report.dropped.push_back(on("publication " + pub));
  }
  for (const Slot& s : slots) {
    if (!goes(s.name)) continue;
    WithContext("dropping slot " + s.name + " on the " + o.server, [&] {
      if (s.active && s.pid) {
        Log()->warn("--force: ending the walsender of slot {} ({})", s.name, s.reader);
        source.Exec("SELECT pg_terminate_backend($1::int)", {pg::Param(*s.pid)});
      }
      pg::ReplicationConnection repl = pg::ReplicationConnection::Open(o.source, o.server);
      try {
        repl.DropSlot(s.name, /*wait=*/true);
      } catch (const Error& e) {
        if (e.sqlstate() != "42704") throw;  // undefined_object: dropped meanwhile
      }
    });
    report.dropped.push_back(on("slot " + s.name));
  }
  if (ListPublications(source).empty()) {
    if (auto function = control::DropTruncateFunction(source, o.control_schema)) {
      report.dropped.push_back(on("function " + *function + " (and the triggers calling it)"));
    }
  }
  if (o.drop_control_schema) {
    pg::Connection target = pg::Connection::Open(o.target, {.role = "target"});
    control::ControlSchema control(target, o.control_schema);
    if (control.Exists()) {
      target.Exec("DROP SCHEMA " + pg::QuoteIdent(o.control_schema) + " CASCADE");
      report.dropped.push_back("control schema " + pg::QuoteIdent(o.control_schema) + " on the target");
    }
  }
  if (o.log_dropped) {
    for (const std::string& d : report.dropped) Log()->info("dropped {}", d);
  }
  if (fallback_set && o.fallback) {  // logs its own
    CleanupOptions f;
    f.source = o.target;
    f.target = o.target;  // only used for the control schema, which stays
    f.control_schema = o.control_schema;
    f.sets = {*fallback_set};
    f.force = o.force;
    f.server = "target";
    f.log_dropped = o.log_dropped;
    CleanupReport fr = WithContext("dropping the fallback's objects on the target", [&] { return Cleanup(f); });
    report.dropped.insert(report.dropped.end(), fr.dropped.begin(), fr.dropped.end());
    // The old source (this source) forgets the fallback set, as walferry fallback --end does.
    control::ControlSchema old_source_control(source, o.control_schema);
    if (old_source_control.Exists()) old_source_control.DeleteSet(*fallback_set);
  }
  return report;
}

}  // namespace walferry::lifecycle
