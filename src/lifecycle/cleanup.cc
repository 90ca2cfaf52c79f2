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

// The slot and publication names the target's control schema recorded for this migration (source_objects, and the
// sets' rows of a control schema from before it); empty without a control schema or for the fallback's cleanup.
std::set<std::string> Recorded(const CleanupOptions& o) {
  std::set<std::string> out;
  if (o.server != "source" || o.target.empty()) return out;
  pg::Connection target = pg::Connection::Open(o.target, {.role = "target"});
  control::ControlSchema control(target, o.control_schema);
  if (!control.Exists()) return out;
  // Read-only (the target may be read-only for new sessions after a switch back): a control schema from before
  // source_objects has only its sets' rows.
  const bool has_record =
      target.Exec(sql::Get("control/table_exists"), {pg::Param(o.control_schema), pg::Param("source_objects")})
          .GetBool(0, 0);
  pg::Result r = target.Exec(control::WithSchema(
      sql::Get(has_record ? "control/recorded_source_objects" : "control/recorded_set_objects"), o.control_schema));
  for (int i = 0; i < r.rows(); ++i) out.emplace(r.Get(i, 0));
  return out;
}

}  // namespace

CleanupReport Cleanup(const CleanupOptions& o) {
  CleanupReport report;
  pg::Connection source = pg::Connection::Open(o.source, {.role = o.server});
  auto on = [&](const std::string& what) { return o.server == "source" ? what : what + " on the " + o.server; };
  // After a cutover (or a switch back) the database is read-only for new sessions: walferry's own objects still go.
  source.Exec("SET default_transaction_read_only = off");
  const control::MigrationNames names = control::NamesFor(source, o.migration_id);
  std::set<std::string> owned;       // slot and publication names are the same
  std::set<std::string> configured;  // never orphans
  for (const std::string& set : o.sets) owned.insert(control::SlotName(names, set));
  for (const std::string& set : o.configured) configured.insert(control::SlotName(names, set));
  configured.insert(owned.begin(), owned.end());
  std::vector<Slot> slots = ListSlots(source);
  std::vector<std::string> publications = ListPublications(source);
  const std::set<std::string> recorded = Recorded(o);
  // The way back (walferry cutover --fallback) is live as long as its slot is on the target: it goes only with
  // `fallback`; without it, it is reported as kept. Found before anything is dropped.
  std::optional<std::string> fallback_set;
  if (!o.target.empty() && o.server == "source") {
    pg::Connection target = pg::Connection::Open(o.target, {.role = "target"});
    fallback_set = FallbackSetName(target, source);
    const std::string fallback_slot = control::SlotName(control::NamesFor(target, o.migration_id), *fallback_set);
    if (!o.fallback && control::ReadSlot(target, fallback_slot)) {
      report.fallback_kept.push_back("slot " + fallback_slot + " on the target");
    }
  }

  // What goes: the configured sets' objects, and with --orphans the others this migration recorded; never one of
  // another migration (slot names are cluster-wide).
  auto orphan = [&](const std::string& name) { return recorded.contains(name) && !configured.contains(name); };
  auto goes = [&](const std::string& name) { return owned.contains(name) || (o.orphans && orphan(name)); };
  auto sort = [&](const std::string& what, const std::string& name) {
    if (goes(name) || configured.contains(name)) return;
    (recorded.contains(name) ? report.orphans_kept : report.foreign).push_back(on(what + " " + name));
  };
  for (const Slot& s : slots) sort("slot", s.name);
  for (const std::string& p : publications) sort("publication", p);

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
    // After a switch back the target is read-only for new sessions: walferry's own state still goes.
    target.Exec("SET default_transaction_read_only = off");
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
    f.migration_id = o.migration_id;
    f.log_dropped = o.log_dropped;
    CleanupReport fr = WithContext("dropping the fallback's objects on the target", [&] { return Cleanup(f); });
    report.dropped.insert(report.dropped.end(), fr.dropped.begin(), fr.dropped.end());
    // The old source (this source) forgets the fallback set, as walferry fallback --end does.
    control::ControlSchema old_source_control(source, o.control_schema);
    if (old_source_control.Exists()) old_source_control.DeleteSet(*fallback_set);
  }
  // The way back (cutover --fallback) kept walferry's state for the fallback set in a control schema of the same
  // name on the old source: with drop_control_schema it goes too, once nothing of walferry's is live there (no
  // walferry publication, no live way back on the target).
  // Only when it holds nothing but fallback sets: a control schema of another migration that loads INTO this
  // database stays.
  auto only_fallback_state = [&] {
    control::ControlSchema c(source, o.control_schema);
    return c.Exists() && source
                             .Exec("SELECT count(*) FROM " + c.Table("sets") +
                                   " WHERE set_name NOT LIKE 'fallback\\_%'")
                             .GetInt(0, 0) == 0;
  };
  if (o.drop_control_schema && o.server == "source" && report.fallback_kept.empty() &&
      ListPublications(source).empty() && only_fallback_state()) {
    source.Exec("DROP SCHEMA " + pg::QuoteIdent(o.control_schema) + " CASCADE");
    report.dropped.push_back("control schema " + pg::QuoteIdent(o.control_schema) + " on the source (the way back's "
                             "state)");
    if (o.log_dropped) Log()->info("dropped {}", report.dropped.back());
  }
  return report;
}

}  // namespace walferry::lifecycle
