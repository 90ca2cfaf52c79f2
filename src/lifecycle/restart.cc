#include "lifecycle/restart.h"

#include <algorithm>

#include "catalog/catalog.h"
#include "common/error.h"
#include "common/log.h"
#include "control/control_schema.h"
#include "control/cutover_lock.h"
#include "control/cutover_row.h"
#include "lifecycle/cleanup.h"
#include "pg/connection.h"
#include "sql/sql.h"
#include "validate/validator.h"

namespace walferry::lifecycle {
namespace {

// "referencing (constraint) references referenced; ..." from rows of lifecycle/foreign_keys_*.sql.
std::string References(const pg::Result& fks) {
  std::string list;
  for (int i = 0; i < fks.rows(); ++i) {
    list += std::string(i ? "; " : "") + std::string(fks.Get(i, 0)) + " (" + std::string(fks.Get(i, 1)) +
            ") references " + std::string(fks.Get(i, 2));
  }
  return list;
}

}  // namespace

load::LoadReport RestartSets(const config::Config& config, const std::vector<std::string>& names,
                             const std::string& command) {
  const std::vector<std::string> configured = config::SetNames(config);
  for (const std::string& name : names) {
    control::ValidateSetName(name);
    if (std::find(configured.begin(), configured.end(), name) == configured.end()) {
      throw Error(ErrorKind::kConfig, "--set " + name + ": no such set in the configuration");
    }
  }
  const bool every_set = names.size() == configured.size();
  const std::string what = every_set ? "every set" : "set " + names.front();
  // One of cutover, abort, restart, reset, switch back at a time (control/cutover_lock.h), held until the load ends.
  pg::Connection target =
      pg::Connection::Open(config.target, {.role = "target", .application_name = command});
  control::TakeMigrationLock(target, command);
  pg::Connection source = pg::Connection::Open(config.source, {.role = "source"});
  // The sets' tables (roots: a partition's rows are its root's) and who references them on the target.
  std::vector<std::string> quoted;
  std::vector<std::string> others;  // the other sets' tables
  {
    std::vector<catalog::TableInfo> all = catalog::ListTables(source, config.control_schema);
    for (const std::string& name : configured) {
      const bool restarted = std::find(names.begin(), names.end(), name) != names.end();
      for (const auto& set : validate::ResolveSets(config, all, name, {})) {
        for (const auto& t : set.tables) (restarted ? quoted : others).push_back(t.name.Quoted());
      }
    }
  }
  pg::Result fks = WithContext("looking for foreign keys into the set's tables on the target", [&] {
    return target.Exec(sql::Get("lifecycle/foreign_keys_into"), {pg::Param(pg::TextArray(quoted))});
  });
  if (fks.rows() > 0) {
    throw Error(ErrorKind::kPrecondition, what + ": tables outside it reference its tables: " + References(fks))
        .WithDetail("restarting the set empties its tables, which those references forbid; nothing was changed")
        .WithHint("restart the referencing tables' sets too (walferry reset for all), or drop those foreign keys on "
                  "the target for the migration and create them again after the switch");
  }
  // The other way round: the set's rows come from a new snapshot, the other sets' rows from where their CDC is. A row
  // of the set may reference one the other set has not applied yet, and the foreign key, created after the copy,
  // would fail with the set half loaded (its slot already dropped): refused before anything changes.
  pg::Result out = WithContext("looking for foreign keys from the set's tables into other sets on the target", [&] {
    return target.Exec(sql::Get("lifecycle/foreign_keys_to_others"),
                       {pg::Param(pg::TextArray(quoted)), pg::Param(pg::TextArray(others))});
  });
  if (out.rows() > 0) {
    throw Error(ErrorKind::kPrecondition, what + ": its tables reference tables of other sets: " + References(out))
        .WithDetail("the set would be copied from a new snapshot, newer than what the other sets have applied, so "
                    "its rows may reference rows missing on the target and the foreign key could not be created; "
                    "nothing was changed")
        .WithHint("restart the referenced tables' sets with it (walferry reset --yes loads every set again), or "
                  "drop those foreign keys on the target for the migration and create them again after the switch");
  }
  // Dropping a legacy-inheritance parent needs its children gone too: children in other sets stay, so refused.
  pg::Result heirs = WithContext("looking for tables that inherit from the set's tables on the target", [&] {
    return target.Exec(sql::Get("lifecycle/inheritors_outside"), {pg::Param(pg::TextArray(quoted))});
  });
  if (heirs.rows() > 0) {
    std::string list;
    for (int i = 0; i < heirs.rows(); ++i) {
      list += std::string(i ? "; " : "") + std::string(heirs.Get(i, 0)) + " inherits from " +
              std::string(heirs.Get(i, 1));
    }
    throw Error(ErrorKind::kPrecondition, what + ": tables outside it inherit from its tables: " + list)
        .WithDetail("restarting the set drops its tables on the target, and a parent cannot be dropped while "
                    "children another set streams into depend on it; nothing was changed")
        .WithHint("load every set again (walferry reset --yes), or restart the children's sets alone (they load "
                  "again under the parent); to restart them separately later, plan the parent and its children "
                  "into one set");
  }
  // A target left read-only for new sessions (a switch back does so on purpose; cutover --fallback holds it so for
  // a moment) would fail the first write with a raw error: refused here, saying what to run.
  if (target.Exec("SHOW default_transaction_read_only").Get(0, 0) == "on") {
    std::string db(target.Exec("SELECT current_database()").Get(0, 0));
    throw Error(ErrorKind::kPrecondition, "the target database " + db + " is read-only for new sessions")
        .WithDetail("nothing was changed: a switch back (walferry fallback --switch-back) leaves it read-only so that "
                    "the application cannot write there by mistake; a running cutover --fallback holds it so until "
                    "its reverse slot exists")
        .WithHint("to load it again after a switch back, run on the target: ALTER DATABASE " + pg::QuoteIdent(db) +
                  " RESET default_transaction_read_only; then " + command + " again (a cutover in "
                  "progress: finish it or abort it first)");
  }
  // Refused while the target is (becoming) the new primary; an aborted or switched-back cutover is archived.
  control::PrepareReload(target, source, config.control_schema, command);
  log::For("restart")->info("{}: dropping the slots, publications and triggers on the source", what);
  Cleanup({config.source, config.target, config.control_schema, config.migration_id, names, false, false, false});
  control::ControlSchema control(target, config.control_schema);
  if (control.Exists()) {
    pg::InTransaction(target, [&] {
      for (const std::string& name : names) control.DeleteSet(name);
    });
  }
  // The sets' tables go in ONE statement, so references between them (also across the sets being restarted) do not
  // matter; references from outside were refused above. The load creates them again, then their keys.
  std::vector<std::string> existing;
  for (const std::string& q : quoted) {
    if (target.Exec("SELECT to_regclass($1) IS NOT NULL", {pg::Param(q)}).GetBool(0, 0)) existing.push_back(q);
  }
  if (!existing.empty()) {
    std::string list;
    for (const std::string& q : existing) list += (list.empty() ? "" : ", ") + q;
    WithContext("dropping the tables to load again on the target", [&] { target.Exec("DROP TABLE " + list); });
  }
  log::For("restart")->info("{}: loading again from a new snapshot ({} tables dropped on the target first)", what,
                            existing.size());
  load::LoadOptions o = load::ConfiguredLoad(config);
  if (!every_set) o.only_set = names.front();
  // Not truncate: a TRUNCATE of a referenced table is refused even when it is empty. drop also covers the tables an
  // interrupted restart had created again.
  o.target_prep = "drop";
  return load::RunLoad(o);
}

}  // namespace walferry::lifecycle
