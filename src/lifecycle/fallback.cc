#include "lifecycle/fallback.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "assess/assessment.h"
#include "assess/server_facts.h"
#include "catalog/catalog.h"
#include "cdc/run_sets.h"
#include "common/error.h"
#include "common/log.h"
#include "sql/sql.h"
#include "control/control_schema.h"
#include "control/publication.h"
#include "control/set_status.h"
#include "control/truncate_capture.h"
#include "pg/conninfo.h"
#include "pg/replication_stream.h"
#include "pg/server_version.h"
#include "validate/validator.h"

namespace walferry::lifecycle {
namespace {

std::shared_ptr<spdlog::logger> Log() { return log::For("fallback"); }

// Set names are at most 48 characters: "fallback_" (9), the target database's name (at most 30), "_" and 8 hex
// digits of the source's identity.
constexpr size_t kDatabaseRoom = 30;

// FNV-1a, 32 bits: the same name on every platform and build (std::hash is not), since `walferry fallback` must
// find the slot that an earlier `walferry cutover --fallback` named.
uint32_t StableHash(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

// Whether `table` or one of its partitions (any depth) in `all` has a replica identity that includes a generated
// column (assess::GeneratedIdentityColumn).
bool GeneratedInIdentity(const std::vector<catalog::TableInfo>& all, const pg::TableName& table) {
  return std::any_of(all.begin(), all.end(), [&](const catalog::TableInfo& t) {
    if (t.name == table) return assess::GeneratedIdentityColumn(t).has_value();
    return t.is_partition && t.parent && *t.parent == table && GeneratedInIdentity(all, t.name);
  });
}

std::string Database(pg::Connection& c) { return std::string(c.Exec("SELECT current_database()").Get(0, 0)); }

// The old source for walferry's sessions: writable for them although cutover made the database read-only.
std::string OldSource(const config::Config& forward) {
  return pg::WithServerSetting(forward.source, "default_transaction_read_only", "off");
}

}  // namespace

std::string FallbackSetName(const std::string& target_database, const SourceIdentity& source) {
  std::string name;
  for (char c : target_database) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    name += (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c : '_';
  }
  if (name.size() > kDatabaseRoom) name.resize(kDatabaseRoom);
  // The whole identity in the hash: two sources into one target database, and shortened names of different
  // databases, never meet. A NUL cannot occur in any part, so the parts cannot run into each other.
  const std::string identity =
      target_database + '\0' + source.system_identifier + '\0' + source.database;
  return fmt::format("fallback_{}_{:08x}", name, StableHash(identity));
}

SourceIdentity IdentifySource(pg::Connection& source) {
  SourceIdentity id;
  id.database = Database(source);
  // pg_control_system() is executable by PUBLIC unless revoked; IDENTIFY_SYSTEM needs the REPLICATION attribute,
  // which the forward slots needed on the source anyway.
  bool readable = source
                      .Exec("SELECT pg_catalog.has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE')")
                      .GetBool(0, 0);
  if (readable) {
    id.system_identifier =
        std::string(source.Exec("SELECT system_identifier::text FROM pg_catalog.pg_control_system()").Get(0, 0));
  } else {
    id.system_identifier = pg::ReplicationConnection::Open(source.conninfo(), source.role()).IdentifySystem().system_id;
  }
  return id;
}

std::string FallbackSetName(pg::Connection& target, pg::Connection& old_source) {
  return FallbackSetName(Database(target), IdentifySource(old_source));
}

config::Config FallbackConfig(const config::Config& forward, pg::Connection& target, const std::string& set_name) {
  config::Config fb = forward;
  fb.source = forward.target;
  fb.target = OldSource(forward);
  fb.rules.clear();
  config::SetConfig set{set_name, config::ApplyMode::kBatch, {}};
  for (const validate::SetTables& s :
       validate::ResolveSets(forward, catalog::ListTables(target, forward.control_schema), "", {})) {
    const config::SetConfig* configured = nullptr;
    for (const auto& c : forward.sets) {
      if (c.name == s.set_name) configured = &c;
    }
    if (configured && configured->apply == config::ApplyMode::kTransactional) {
      set.apply = config::ApplyMode::kTransactional;
    }
    for (const catalog::TableInfo& t : s.tables) {
      config::TableConfig table{t.name, std::nullopt, {}, "fallback of set " + s.set_name};
      if (configured) {
        for (const auto& c : configured->tables) {
          if (c.name == t.name) table = c;
        }
        table.apply = table.apply.value_or(configured->apply);
      }
      set.tables.push_back(std::move(table));
    }
  }
  fb.sets = {std::move(set)};
  return fb;
}

void CheckFallbackPossible(const config::Config& forward, pg::Connection& target, pg::Connection& source) {
  const std::string set = FallbackSetName(target, source);
  auto refuse = [](const std::string& what, const std::string& hint) {
    throw Error(ErrorKind::kPrecondition, "--fallback: " + what)
        .WithDetail("nothing was changed: the source is writable as before")
        .WithHint(hint);
  };
  for (const std::string& name : config::SetNames(forward)) {
    if (name == set) {
      refuse("a configured set is named " + set + ", the name of the fallback set",
             "rename that set in walferry.yaml (walferry restart --set) or cut over without --fallback");
    }
  }
  assess::ServerFacts t = assess::GatherServerFacts(target);
  if (t.wal_level != "logical") {
    refuse("the target's wal_level is '" + t.wal_level + "': the reverse slot needs 'logical'",
           "ALTER SYSTEM SET wal_level = logical on the target and restart it (on a managed service: its logical "
           "replication parameter), then run walferry cutover --fallback");
  }
  if (!t.CanCreateReplicationSlots()) {
    refuse("the target role " + t.role_name + " cannot create replication slots",
           "ALTER ROLE " + pg::QuoteIdent(t.role_name) + " REPLICATION on the target (or connect as a superuser)");
  }
  if (!t.CanCreatePublications()) {
    refuse("the target role " + t.role_name + " cannot create publications",
           "GRANT CREATE ON DATABASE " + pg::QuoteIdent(t.database) + " TO " + pg::QuoteIdent(t.role_name));
  }
  bool ours =
      control::ReadSlot(target, control::SlotName(control::NamesFor(target, forward.migration_id), set)).has_value();
  if (!ours && t.max_replication_slots - t.slots_used < 1) {
    refuse("the target has no free replication slot (max_replication_slots = " +
               std::to_string(t.max_replication_slots) + ")",
           "raise max_replication_slots on the target (restart needed) or drop an unused slot");
  }
  if (t.max_wal_senders < 1) {
    refuse("the target has max_wal_senders = 0: the fallback cannot read its slot",
           "raise max_wal_senders on the target (restart needed)");
  }
  // PostgreSQL 12 cannot publish a partitioned table (publish_via_partition_root came with 13): refuse now, not
  // when the publication is made at the end of the cutover.
  if (!pg::FeaturesOf(target.ServerVersionNum(), "target").publish_via_partition_root) {
    std::string partitioned;
    for (const validate::SetTables& s :
         validate::ResolveSets(forward, catalog::ListTables(target, forward.control_schema), "", {})) {
      for (const catalog::TableInfo& table : s.tables) {
        if (table.relkind == 'p') partitioned += (partitioned.empty() ? "" : ", ") + table.name.Display();
      }
    }
    if (!partitioned.empty()) {
      refuse("the target (PostgreSQL 12) cannot publish partitioned tables, so it cannot carry their changes back: " +
                 partitioned,
             "cut over without --fallback, or upgrade the target to PostgreSQL 13 or later");
    }
  }
}

namespace {

// Waits until no other session of the target's cluster holds a transaction id (CREATE_REPLICATION_SLOT would wait
// for each of them, without a limit); see PrepareFallback.
void WaitForTargetTransactions(pg::Connection& target, std::chrono::seconds timeout, const std::atomic<bool>* stop) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool said = false;
  while (true) {
    pg::Result r = target.Exec(sql::Get("lifecycle/target_xid_holders"));
    if (r.rows() == 0) return;
    std::string who;
    for (int i = 0; i < r.rows() && i < 10; ++i) {
      who += std::string(i ? "; " : "") + "pid " + std::string(r.Get(i, 0)) + " (database " +
             std::string(r.Get(i, 1)) + ", application '" + std::string(r.Get(i, 2)) + "', transaction since " +
             std::string(r.Get(i, 3)) + ")";
    }
    if (!said) {
      Log()->warn("the fallback slot waits for {} transaction(s) open on the target: {}", r.rows(), who);
      said = true;
    }
    if (stop && stop->load()) {
      throw Error(ErrorKind::kCancelled, "interrupted while waiting for transactions open on the target: " + who);
    }
    if (timeout.count() > 0 && std::chrono::steady_clock::now() >= deadline) {
      throw Error(ErrorKind::kPrecondition, "the fallback slot cannot be created: " + std::to_string(r.rows()) +
                                                " transaction(s) stay open on the target for over " +
                                                std::to_string(timeout.count()) + " s: " + who)
          .WithHint("end them (or let them finish), then run the command again: it continues where it stopped");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace

FallbackPrepared PrepareFallback(const config::Config& forward, pg::Connection& target, std::chrono::seconds timeout,
                                 const std::atomic<bool>* stop) {
  FallbackPrepared out;
  pg::Connection old_source =
      pg::Connection::Open(OldSource(forward), {.role = "old source", .application_name = "walferry cutover"});
  out.set_name = FallbackSetName(target, old_source);
  const control::MigrationNames names = control::NamesFor(target, forward.migration_id);  // the way back's source
  const std::string slot = control::SlotName(names, out.set_name);
  const std::string pub = control::PublicationName(names, out.set_name);
  out.slot_name = slot;
  config::Config fb = FallbackConfig(forward, target, out.set_name);
  control::ControlSchema control(old_source, fb.control_schema);
  control.Ensure();
  std::optional<control::ControlSchema::SetRow> row = control.GetSet(out.set_name);
  bool slot_exists = control::ReadSlot(target, slot).has_value();
  if (slot_exists && row && row->start_lsn.valid()) {
    out.start = row->start_lsn;
    out.existed = true;
    return out;
  }
  if (slot_exists && !row) {
    throw Error(ErrorKind::kPrecondition, "the target already has a replication slot " + slot +
                                              " that no fallback recorded on the old source")
        .WithDetail("walferry drops only slots it knows it created")
        .WithHint("if it is left over from an earlier migration, drop it on the target (SELECT "
                  "pg_drop_replication_slot('" + slot + "')) and run walferry cutover again");
  }
  // The row first: a slot walferry creates is always known to the control schema.
  control.DeleteSet(out.set_name);
  control.UpsertSet({out.set_name, slot, pub, "", Lsn(), control::LoadState::kLoading});
  pg::ReplicationConnection repl = pg::ReplicationConnection::Open(forward.target, "target");
  if (slot_exists) repl.DropSlot(slot, /*wait=*/true);  // ours, from a run interrupted before it was recorded
  // Partitioned tables through their root, every other table with ONLY (control/publication.h).
  std::vector<catalog::TableInfo> on_target = catalog::ListTables(target, fb.control_schema);
  std::vector<control::PublishedTable> tables;
  bool generated_in_identity = false;
  for (const auto& t : fb.sets.front().tables) {
    bool partitioned = std::any_of(on_target.begin(), on_target.end(), [&](const catalog::TableInfo& c) {
      return c.name == t.name && c.relkind == 'p';
    });
    tables.push_back({t.name, partitioned});
    generated_in_identity = generated_in_identity || GeneratedInIdentity(on_target, t.name);
  }
  // As the load decides on the source (load/preflight.cc): a key that includes a stored generated column is
  // matched on the old source only when the target publishes it (18+). An older target cannot hold such a table
  // carried by walferry (the load refused it on every source older than 18, and a target is never older than its
  // source); one loaded by other means is applied without it, as any older source's would be.
  const pg::ServerFeatures target_features = pg::FeaturesOf(target.ServerVersionNum(), "target");
  const control::GeneratedColumns generated = generated_in_identity && target_features.publish_generated_columns
                                                  ? control::GeneratedColumns::kStored
                                                  : control::GeneratedColumns::kNone;
  WithContext("creating publication " + pub + " on the target", [&] {
    target.Exec("DROP PUBLICATION IF EXISTS " + pg::QuoteIdent(pub));
    // Through the root where the target can (13+); on 12, CheckFallbackPossible refused partitioned tables.
    target.Exec(control::CreatePublicationSql(pub, tables, target_features, generated));
  });
  // Before the slot, so that a TRUNCATE of one partition after its start is carried.
  control::InstallTruncateCapture(target, fb.control_schema, pub);
  WaitForTargetTransactions(target, timeout, stop);
  pg::CreatedSlot created = repl.CreateLogicalSlot(slot, pg::SnapshotAction::kNoExport);
  control.UpsertSet({out.set_name, slot, pub, "", created.consistent_point, control::LoadState::kLoaded});
  out.start = created.consistent_point;
  Log()->info("fallback prepared: slot {} on the target from {}; walferry fallback streams the target's changes back "
              "to the old source",
              slot, out.start.ToString());
  return out;
}

cdc::WorkerOptions FallbackWorker(const config::Config& forward) {
  pg::Connection target = pg::Connection::Open(forward.target, {.role = "target"});
  pg::Connection old_source = pg::Connection::Open(OldSource(forward), {.role = "old source"});
  const std::string set = FallbackSetName(target, old_source);
  config::Config fb = FallbackConfig(forward, target, set);
  control::ControlSchema control(old_source, fb.control_schema);
  std::optional<control::ControlSchema::SetRow> row = control.Exists() ? control.GetSet(set) : std::nullopt;
  if (row && control.CutoverStep() == "done") {
    throw Error(ErrorKind::kPrecondition, "the switch back is complete: the old source is the primary again and the "
                                          "fallback's slot is gone")
        .WithHint("to migrate again, start over (walferry reset)");
  }
  if (!row || row->load_state != control::LoadState::kLoaded || !row->start_lsn.valid()) {
    throw Error(ErrorKind::kPrecondition, "no fallback is prepared for this migration (set " + set +
                                              " is not on the old source)")
        .WithHint("walferry cutover --fallback prepares it at the switch; it cannot be added afterwards, because "
                  "the target's changes since the switch are not in any slot");
  }
  return cdc::ConfiguredWorker(fb, set);
}

std::string FallbackSetName(const config::Config& forward) {
  pg::Connection target = pg::Connection::Open(forward.target, {.role = "target"});
  pg::Connection old_source = pg::Connection::Open(forward.source, {.role = "old source"});
  return FallbackSetName(target, old_source);
}

CleanupReport EndFallback(const config::Config& forward, bool force) {
  const std::string set = FallbackSetName(forward);
  CleanupOptions c;
  c.migration_id = forward.migration_id;
  c.source = forward.target;
  c.target = OldSource(forward);
  c.control_schema = forward.control_schema;
  c.sets = {set};
  c.force = force;
  c.server = "target";
  CleanupReport report = Cleanup(c);
  pg::Connection old_source = pg::Connection::Open(c.target, {.role = "old source"});
  control::ControlSchema control(old_source, forward.control_schema);
  if (control.Exists()) control.DeleteSet(set);
  Log()->info("fallback ended: set {} forgotten on the old source", set);
  return report;
}

CleanupReport EndAbortedFallback(const config::Config& forward) {
  CleanupReport report;
  try {
    report = WithContext("ending the fallback the aborted cutover prepared",
                         [&] { return EndFallback(forward, /*force=*/false); });
  } catch (Error& e) {
    if (e.kind() != ErrorKind::kPrecondition) throw;
    // Its slot is read: a walferry fallback started before the cutover was done.
    e.WithDetail("the abort changed nothing: the source stays read-only")
        .WithHint("stop walferry fallback (there is nothing to carry back before the cutover is done), then run "
                  "walferry cutover --abort again");
    throw;
  }
  for (const std::string& d : report.dropped) Log()->info("the aborted cutover's fallback: dropped {}", d);
  return report;
}

void KeepOldSourceReadOnly(pg::Connection& old_source) {
  const std::string db = Database(old_source);
  WithContext("making the old source database " + db + " read-only again", [&] {
    old_source.Exec("ALTER DATABASE " + pg::QuoteIdent(db) + " SET default_transaction_read_only = on");
  });
  Log()->info("the old source database {} is READ-ONLY again for new sessions (the target stays the primary)", db);
}

}  // namespace walferry::lifecycle
