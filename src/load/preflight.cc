#include "load/preflight.h"

#include <algorithm>
#include <map>

#include "assess/assessment.h"
#include "assess/server_facts.h"
#include "common/process.h"
#include "control/truncate_capture.h"
#include "load/client_tools.h"
#include "load/schema.h"
#include "pg/server_version.h"
#include "sql/sql.h"

namespace walferry::load {

namespace {

// `client_programs`: whether this load runs pg_dump, pg_restore and psql (not when every set was loaded by other
// means, --cdc-start-lsn or its --resume, which copy nothing: no client programs of the source's version needed).
void CheckServers(pg::Connection& source, pg::Connection& target, size_t new_slots, bool client_programs) {
  for (auto [conn, role] : {std::pair<pg::Connection*, const char*>{&source, "source"}, {&target, "target"}}) {
    pg::ServerFeatures f = pg::FeaturesOf(conn->ServerVersionNum(), role);
    if (!f.served) {
      throw Error(ErrorKind::kPrecondition, "the " + std::string(role) + " runs PostgreSQL " +
                                                conn->ParameterStatus("server_version") + ", which walferry does "
                                                "not serve")
          .WithDetail(f.not_served_why)
          .WithHint("migrate between servers of PostgreSQL " + std::to_string(pg::kOldestServedMajor) + " to " +
                    std::to_string(pg::kNewestServedMajor));
    }
  }
  if (pg::MigrationPair p = pg::MigrationPairOf(source.ServerVersionNum(), target.ServerVersionNum()); !p.served) {
    throw Error(ErrorKind::kPrecondition, "walferry does not migrate from PostgreSQL " +
                                              source.ParameterStatus("server_version") + " to PostgreSQL " +
                                              target.ParameterStatus("server_version"))
        .WithDetail(p.not_served_why)
        .WithHint("migrate into a target of PostgreSQL " + std::to_string(source.ServerVersionNum() / 10000) +
                  " or newer (docs/versions.md)");
  }
  assess::ServerFacts s = assess::GatherServerFacts(source);
  if (s.wal_level != "logical") {
    throw Error(ErrorKind::kPrecondition, "source wal_level is '" + s.wal_level + "'")
        .WithHint("set wal_level=logical and restart the source; walferry load needs a logical replication slot");
  }
  if (!s.CanCreateReplicationSlots()) {
    throw Error(ErrorKind::kPrecondition, "source role " + s.role_name + " cannot create replication slots")
        .WithHint("ALTER ROLE " + pg::QuoteIdent(s.role_name) + " REPLICATION (or connect as a superuser)");
  }
  if (!s.CanCreatePublications()) {
    throw Error(ErrorKind::kPrecondition, "source role " + s.role_name + " cannot create publications")
        .WithHint("GRANT CREATE ON DATABASE " + pg::QuoteIdent(s.database) + " TO " + pg::QuoteIdent(s.role_name));
  }
  if (s.max_replication_slots - s.slots_used < static_cast<int>(new_slots)) {
    throw Error(ErrorKind::kPrecondition, "the source has " + std::to_string(s.max_replication_slots - s.slots_used) +
                                              " free replication slots; the load needs " + std::to_string(new_slots))
        .WithHint("raise max_replication_slots on the source (restart needed) or drop unused slots");
  }
  assess::ServerFacts t = assess::GatherServerFacts(target);
  if (!t.CanCreateSchemasAndTables()) {
    throw Error(ErrorKind::kPrecondition, "target role " + t.role_name + " cannot create schemas and tables")
        .WithHint("GRANT CREATE ON DATABASE " + pg::QuoteIdent(t.database) + " TO " + pg::QuoteIdent(t.role_name));
  }
  // pg_dump, pg_restore and psql that fit the source's version (load/client_tools.h), or a clear error now.
  if (!client_programs) return;
  for (const char* program : {"pg_dump", "pg_restore", "psql"}) {
    FindClientProgram(program, source.ServerVersionNum() / 10000);
  }
}

// The load creates walferry's partition TRUNCATE trigger on every leaf partition (control/truncate_capture.h):
// refuse now, naming them, when the role may not.
// PostgreSQL 12 cannot publish a partitioned table (publish_via_partition_root and partitioned tables in
// publications came with 13).
void CheckPartitionedPublishable(pg::Connection& source, const std::vector<ResolvedSet>& sets) {
  if (pg::FeaturesOf(source.ServerVersionNum()).publish_via_partition_root) return;
  std::string list;
  for (const auto& set : sets) {
    for (const auto& t : set.tables) {
      if (t.relkind == 'p') list += (list.empty() ? "" : ", ") + t.name.Display();
    }
  }
  if (list.empty()) return;
  throw Error(ErrorKind::kPrecondition, "the source (PostgreSQL 12) cannot publish partitioned tables: " + list)
      .WithHint("exclude them (and migrate them by other means), or upgrade the source to PostgreSQL 13 or later");
}

void CheckTruncateCapture(pg::Connection& source, const std::vector<ResolvedSet>& sets) {
  if (!pg::FeaturesOf(source.ServerVersionNum()).publish_via_partition_root) return;  // 12: refused above
  std::vector<std::string> oids;
  for (const auto& set : sets) {
    for (uint32_t oid : set.relation_oids) oids.push_back(std::to_string(oid));
  }
  if (oids.empty()) return;
  pg::Result r = source.Exec(sql::Get("load/partitions_without_trigger_right"), {pg::Param(pg::TextArray(oids))});
  if (r.rows() == 0) return;
  std::string list;
  for (int i = 0; i < r.rows(); ++i) list += (i ? ", " : "") + std::string(r.Get(i, 0));
  throw Error(ErrorKind::kPrecondition, "the source role may not create triggers on these partitions: " + list)
      .WithDetail("with publish_via_partition_root, pgoutput does not send a TRUNCATE of one partition; walferry "
                  "carries it through a trigger (" + std::string(control::kTruncateTrigger) +
                  ") on each partition")
      .WithHint("run walferry as the owner of the partitioned tables or a superuser, or GRANT TRIGGER ON each "
                "partition TO the role");
}

// Once the publication exists, the source rejects UPDATE and DELETE on a published table without a replica
// identity: refused before creating it rather than break the application's writes. A key (primary key or USING
// INDEX) that includes a generated column can be matched on the target only when the source publishes it: 18+
// with publish_generated_columns = stored, which the set's publication then sets (`publishes_generated`, set
// here); pgoutput sends no generated column before 18, so such a key would be matched by its other columns alone
// and CDC would stop at the table's first UPDATE: refused. Each problem is one line "table X: what; fix: ..." in
// `refusals`; the load refuses once, listing them all (never one table per run).
void CheckReplicaIdentity(const catalog::TableInfo& t, const pg::ServerFeatures& source, bool& publishes_generated,
                          std::vector<std::string>& refusals) {
  if (t.relkind == 'p') {
    // Each partition is checked (the root holds no rows), but the root's key is the one its changes arrive with.
    if (assess::GeneratedIdentityColumn(t) && source.publish_generated_columns) publishes_generated = true;
    return;
  }
  bool ok = t.replica_identity == 'f' || (t.replica_identity == 'i' && !t.replica_identity_index.empty()) ||
            (t.replica_identity == 'd' && !t.primary_key.empty());
  if (!ok) {
    refusals.push_back("table " + t.name.Display() + " has no replica identity (no primary key): once walferry's "
                       "publication includes it, the source would reject its UPDATEs and DELETEs; fix: add a primary "
                       "key, or ALTER TABLE " + t.name.Quoted() + " REPLICA IDENTITY FULL;");
    return;
  }
  std::optional<std::string> generated = assess::GeneratedIdentityColumn(t);
  if (!generated) return;
  if (source.publish_generated_columns) {
    publishes_generated = true;
    return;
  }
  refusals.push_back("table " + t.name.Display() + ": its replica identity (" +
                     (t.replica_identity == 'i' ? "USING INDEX" : "primary key") + ") includes the generated column " +
                     pg::QuoteIdent(*generated) + ": logical replication (pgoutput) sends no generated column "
                     "before PostgreSQL 18 (this source is " + std::to_string(source.major) + "; an 18 source "
                     "publishes it), so its UPDATEs and DELETEs could not be matched on the target; fix: ALTER TABLE " +
                     t.name.Quoted() + " REPLICA IDENTITY FULL; (or USING INDEX a unique index over columns that "
                     "are not generated)");
}

void RefuseUncarriable(const std::vector<std::string>& refusals) {
  if (refusals.empty()) return;
  std::string list;
  for (const auto& r : refusals) list += "\n  " + r;
  throw Error(ErrorKind::kPrecondition, std::to_string(refusals.size()) + " table(s) cannot be carried:" + list)
      .WithDetail("nothing was changed on either server")
      .WithHint("run each fix on the source, or exclude the tables in walferry.yaml (rules.exclude, or remove them "
                "from their set); walferry assess lists the same, with the exact statement per table");
}

// Partitions (at any depth) of `root`, from the full listing.
void AddPartitions(const std::vector<catalog::TableInfo>& all, const pg::TableName& root,
                   const pg::ServerFeatures& source, ResolvedSet& set, int64_t& size,
                   std::vector<std::string>& refusals) {
  for (const auto& t : all) {
    if (t.is_partition && t.parent && *t.parent == root) {
      CheckReplicaIdentity(t, source, set.publish_generated_columns, refusals);
      set.relations.push_back(t.name);
      set.relation_oids.push_back(t.oid);
      size += t.heap_bytes + t.toast_bytes;
      AddPartitions(all, t.name, source, set, size, refusals);
    }
  }
}

void AddTable(const std::vector<catalog::TableInfo>& all, const catalog::TableInfo& t,
              const pg::ServerFeatures& source, ResolvedSet& set, std::vector<std::string>& refusals) {
  CheckReplicaIdentity(t, source, set.publish_generated_columns, refusals);
  set.tables.push_back(t);
  set.relations.push_back(t.name);
  set.relation_oids.push_back(t.oid);
  int64_t size = t.heap_bytes + t.toast_bytes;
  AddPartitions(all, t.name, source, set, size, refusals);
  set.sizes.push_back(size);
}

std::vector<ResolvedSet> ResolveSets(const LoadOptions& o, const std::vector<catalog::TableInfo>& all,
                                     const pg::ServerFeatures& source) {
  std::vector<ResolvedSet> out;
  std::vector<std::string> refusals;
  if (o.sets.empty()) {
    if (!o.only_set.empty() && o.only_set != "default") {
      throw Error(ErrorKind::kConfig, "unknown set '" + o.only_set + "'")
          .WithHint("walferry.yaml defines no sets, so all selected tables form the set 'default'");
    }
    ResolvedSet set;
    set.name = "default";
    for (const auto& t : catalog::SelectTables(all, o.rules)) AddTable(all, t, source, set, refusals);
    RefuseUncarriable(refusals);
    out.push_back(std::move(set));
    return out;
  }
  std::string names;
  for (const auto& sc : o.sets) {
    names += (names.empty() ? "" : ", ") + sc.name;
    if (!o.only_set.empty() && sc.name != o.only_set) continue;
    control::ValidateSetName(sc.name);
    ResolvedSet set;
    set.name = sc.name;
    for (const auto& tc : sc.tables) {
      const catalog::TableInfo* t = catalog::Find(all, tc.name);
      if (t == nullptr) {
        throw Error(ErrorKind::kConfig, "set '" + sc.name + "': table " + tc.name.Display() + " is not on the source");
      }
      if (t->is_partition) {
        throw Error(ErrorKind::kConfig, "set '" + sc.name + "': " + tc.name.Display() + " is a partition")
            .WithHint("list the partitioned root table instead; its partitions' rows travel through it");
      }
      AddTable(all, *t, source, set, refusals);
    }
    if (set.tables.empty()) throw Error(ErrorKind::kConfig, "set '" + sc.name + "' has no tables");
    out.push_back(std::move(set));
  }
  if (out.empty()) {
    throw Error(ErrorKind::kConfig, "unknown set '" + o.only_set + "'").WithHint("the sets in walferry.yaml are: " + names);
  }
  RefuseUncarriable(refusals);
  return out;
}

void FindExisting(pg::Connection& target, ResolvedSet& set) {
  std::vector<std::string> schemas, names;
  for (const auto& r : set.relations) {
    schemas.push_back(r.schema);
    names.push_back(r.name);
  }
  pg::Result r = target.Exec(sql::Get("load/existing_tables"), {pg::Param(pg::TextArray(schemas)), pg::Param(pg::TextArray(names))});
  for (int i = 0; i < r.rows(); ++i) set.existing.insert({std::string(r.Get(i, 0)), std::string(r.Get(i, 1))});
}

// A slot or publication of this set's name that the target's control schema knows nothing of. Slot names are
// cluster-wide: it may be another migration's (another database of the cluster, or this database into another
// target), so walferry never suggests dropping it (issue 18).
[[noreturn]] void RefuseForeignObject(pg::Connection& source, const ResolvedSet& set) {
  std::string what = set.slot_exists ? "a replication slot" : "a publication";
  std::string whose;
  if (set.slot_exists) {
    pg::Result r = source.Exec(sql::Get("load/slot_owner"), {pg::Param(set.slot_name)});
    if (r.rows() == 1 && !r.GetBool(0, 1)) whose = std::string(r.Get(0, 0));
  }
  Error e(ErrorKind::kPrecondition,
          "the source " + std::string(whose.empty() ? "" : "cluster ") + "already has " + what + " named " +
              (set.slot_exists ? set.slot_name : set.publication_name) +
              (whose.empty() ? "" : ", of database " + whose + " (slot names are cluster-wide)") +
              ", but the target's control schema knows no load of set '" + set.name + "'");
  e.WithDetail("it may belong to another migration of this source cluster: walferry never drops or advises dropping "
               "what it cannot tell is its own");
  if (!whose.empty()) {
    e.WithHint("give this migration its own migration_id in walferry.yaml (walferry plan writes one: the slot and "
               "publication names then differ), then run walferry load again");
  } else {
    e.WithHint("if another migration reads this database (into another target), give this one its own migration_id "
               "in walferry.yaml (walferry plan writes one), then run walferry load again; if it is left over from "
               "an abandoned attempt of this migration, walferry cleanup --orphans drops it when this target's "
               "control schema recorded creating it");
  }
  throw e;
}

void CheckSetState(const LoadOptions& o, pg::Connection& source, ResolvedSet& set) {
  const control::MigrationNames names = control::NamesFor(source, o.migration_id);
  set.slot_name = control::SlotName(names, set.name);
  set.publication_name = control::PublicationName(names, set.name);
  const std::string& slot = set.slot_name;
  const std::string& pub = set.publication_name;
  if (set.row && set.row->slot_name != slot) {
    throw Error(ErrorKind::kConfig, "set '" + set.name + "' was loaded with the slot " + set.row->slot_name +
                                        ", but the configuration names it " + slot)
        .WithDetail("the slot and publication names come from migration_id in walferry.yaml and the source "
                    "database; one of them changed since the set was loaded")
        .WithHint("put migration_id back as it was when the set was loaded (or remove it, for slots named "
                  "walferry_<set>), or restart the set (walferry restart --set " + set.name + ")");
  }
  set.slot_exists = source.Exec("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", {pg::Param(slot)}).rows() > 0;
  set.publication_exists = source.Exec("SELECT 1 FROM pg_publication WHERE pubname = $1", {pg::Param(pub)}).rows() > 0;
  using control::LoadState;
  const LoadState state = set.row ? set.row->load_state : LoadState::kPending;
  // An interrupted --cdc-start-lsn run: the tables are the user's; finishing it only records it again (a rerun
  // with --cdc-start-lsn, or --resume with the LSN it recorded), never a copy that would empty them first.
  const bool external = set.row && set.row->external_load && state == LoadState::kLoading;
  if (external && o.cdc_start_lsn) {
    set.restart = true;
    return;
  }
  // --resume goes by each set's own state: a set no earlier run started is loaded from scratch (below).
  set.resume = o.resume && set.row.has_value();
  if (set.resume) {
    if (state != LoadState::kLoading && state != LoadState::kIndexing && state != LoadState::kLoaded) {
      throw Error(ErrorKind::kPrecondition, "set '" + set.name + "' has no interrupted load to resume (state " +
                                                control::ToString(state) + ")")
          .WithHint("start it over: walferry load --set " + set.name + " --target-prep truncate");
    }
    // A set interrupted while copying starts over from a new slot when its snapshot is gone; one that reached
    // "indexing" keeps its start point, so its slot must still be there.
    if (state == LoadState::kIndexing && !set.slot_exists) {
      throw Error(ErrorKind::kPrecondition, "set '" + set.name + "': its slot " + slot + " is gone from the source")
          .WithHint("CDC cannot start where the load's snapshot ended; start the set over: walferry load "
                    "--target-prep truncate");
    }
    return;
  }
  if (state == LoadState::kLoaded) {
    throw Error(ErrorKind::kPrecondition, "set '" + set.name + "' is already loaded (start_lsn " +
                                              set.row->start_lsn.ToString() + ")")
        .WithHint("nothing to do; to load it again, drop its slot and publication " + slot +
                  " on the source and its row in the control schema's sets table first");
  }
  if (set.row) {
    // An earlier load of this set did not finish. Its slot has never fed CDC (CDC starts from loaded sets only).
    if (external && o.target_prep != "truncate" && o.target_prep != "drop") {
      throw Error(ErrorKind::kPrecondition, "an earlier walferry load --cdc-start-lsn " + set.row->start_lsn.ToString() +
                                                " of set '" + set.name + "' (loaded by other means) was interrupted")
          .WithHint("finish it with walferry load --resume (it records the load again and copies nothing), or "
                    "--cdc-start-lsn LSN for another position; --target-prep truncate (or drop) would empty the "
                    "tables and copy them from the source instead");
    }
    if (o.target_prep != "truncate" && o.target_prep != "drop") {
      throw Error(ErrorKind::kPrecondition, "an earlier load of set '" + set.name + "' was interrupted (state " +
                                                control::ToString(state) + ")")
          .WithHint("finish it with walferry load --resume, or start it over with --target-prep truncate (or drop), "
                    "which drops its slot and publication and empties its tables");
    }
    set.restart = true;
    return;
  }
  if (set.slot_exists || set.publication_exists) RefuseForeignObject(source, set);
}

// --target-prep truncate empties the existing tables of every set loaded from scratch in one TRUNCATE; a foreign key
// into them from any other table on the target would make it fail after the load began.
void CheckTruncatable(const LoadOptions& o, pg::Connection& target, const std::vector<ResolvedSet>& sets) {
  if (o.target_prep != "truncate" || o.cdc_start_lsn) return;
  std::vector<std::string> schemas, names;
  for (const auto& set : sets) {
    if (set.resume) continue;
    for (const auto& t : set.existing) {
      schemas.push_back(t.schema);
      names.push_back(t.name);
    }
  }
  if (names.empty()) return;
  pg::Result r = target.Exec(sql::Get("load/foreign_keys_into"),
                             {pg::Param(pg::TextArray(schemas)), pg::Param(pg::TextArray(names))});
  if (r.rows() == 0) return;
  std::string list;
  for (int i = 0; i < r.rows() && i < 10; ++i) {
    list += std::string(list.empty() ? "" : "; ") + std::string(r.Get(i, 0)) + " (" + std::string(r.Get(i, 1)) +
            " references " + std::string(r.Get(i, 2)) + ")";
  }
  if (r.rows() > 10) list += "; and " + std::to_string(r.rows() - 10) + " more";
  throw Error(ErrorKind::kPrecondition, "--target-prep truncate: tables outside the sets being loaded have foreign "
                                        "keys on the target to tables it would empty: " + list)
      .WithDetail("TRUNCATE refuses to empty a table another table's foreign key references, unless it empties both")
      .WithHint("load those tables too (add them to a set), drop their foreign keys on the target during the load, "
                "or use --target-prep drop");
}

}  // namespace

std::vector<ResolvedSet> Preflight(const LoadOptions& o, pg::Connection& source, pg::Connection& target) {
  return WithContext("checking source and target before the load", [&] {
    if (o.target_prep != "error" && o.target_prep != "do-nothing" && o.target_prep != "truncate" &&
        o.target_prep != "drop") {
      throw Error(ErrorKind::kUsage, "--target-prep '" + o.target_prep + "' is not allowed")
          .WithHint("use error, do-nothing, truncate or drop");
    }
    std::vector<catalog::TableInfo> all = catalog::ListTables(source, o.control_schema);
    std::vector<ResolvedSet> sets = ResolveSets(o, all, pg::FeaturesOf(source.ServerVersionNum()));
    control::ControlSchema control(target, o.control_schema);
    bool have_control = control.Exists();
    size_t new_slots = 0;
    bool copies = false;  // some set runs pg_dump/pg_restore/psql: not one loaded by other means (loader.cc)
    for (auto& set : sets) {
      if (have_control) set.row = control.GetSet(set.name);
      CheckSetState(o, source, set);
      FindExisting(target, set);
      if (!set.resume && !set.restart) ++new_slots;
      copies = copies || !(o.cdc_start_lsn || (set.resume && set.row->external_load &&
                                               set.row->load_state == control::LoadState::kLoading));
      if (o.cdc_start_lsn && set.existing.size() < set.relations.size()) {
        std::string list;
        for (const auto& t : set.relations) {
          if (!set.existing.count(t)) list += (list.empty() ? "" : ", ") + t.Display();
        }
        throw Error(ErrorKind::kPrecondition, "set '" + set.name + "': --cdc-start-lsn says the target was loaded, "
                                                  "but these tables are missing on the target: " + list)
            .WithHint("load every table of the set on the target first (consistent as of the LSN), or run "
                      "walferry load without --cdc-start-lsn");
      }
      if (!set.resume && !set.restart && !o.cdc_start_lsn && o.target_prep == "error" && !set.existing.empty()) {
        std::string list;
        for (const auto& t : set.existing) list += (list.empty() ? "" : ", ") + t.Display();
        throw Error(ErrorKind::kPrecondition, "set '" + set.name + "': tables already exist on the target: " + list)
            .WithHint("walferry creates the tables itself; remove them, or say what to do with "
                      "--target-prep do-nothing (load into them as they are), truncate (empty them first) or drop "
                      "(drop and recreate them from the source)");
      }
    }
    CheckTruncatable(o, target, sets);
    CheckServers(source, target, new_slots, copies);
    CheckPartitionedPublishable(source, sets);
    CheckTruncateCapture(source, sets);
    return sets;
  });
}

}  // namespace walferry::load
