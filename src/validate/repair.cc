#include "validate/repair.h"

#include "common/error.h"
#include "common/log.h"
#include "control/control_schema.h"
#include "sql/sql.h"

namespace walferry::validate {

namespace {

// The source's row: its insertable columns as parameters; nullopt when the source has no such row (any more).
std::optional<std::vector<pg::Param>> SourceRow(pg::Connection& source, const std::string& sql,
                                                const std::vector<pg::Param>& params) {
  pg::Result r = source.Exec(sql, params);
  if (r.rows() == 0) return std::nullopt;
  std::vector<pg::Param> values;
  for (int c = 1; c < r.cols(); ++c) values.push_back(r.GetOpt(0, c));  // column 0 is the row text
  return values;
}

int64_t Exec(pg::Connection& target, const std::string& sql, const std::vector<pg::Param>& params) {
  return target.Exec(sql, params).AffectedRows();
}

int64_t RepairKey(const TableSql& sql, pg::Connection& source, pg::Connection& target, const KeyValues& key) {
  std::vector<pg::Param> p;
  std::string select = sql.RowByKey(key, p);
  std::optional<std::vector<pg::Param>> row = SourceRow(source, select, p);
  std::vector<pg::Param> tp;
  std::string probe = sql.RowHashByKey(key, tp);
  int copies = target.Exec(probe, tp).rows();
  bool on_target = copies > 0;
  std::vector<pg::Param> wp;
  if (!row) return on_target ? Exec(target, sql.DeleteKey(key, wp), wp) : 0;
  if (copies > 1) {
    // A target without the key's unique index holds the key several times: one row, the source's, remains.
    int64_t written = Exec(target, sql.DeleteKey(key, wp), wp);
    std::vector<pg::Param> ip;
    return written + Exec(target, sql.Insert(*row, ip), ip);
  }
  if (!on_target) return Exec(target, sql.Insert(*row, wp), wp);
  std::string update = sql.Update(key, *row, wp);
  return update.empty() ? 0 : Exec(target, update, wp);
}

int64_t RepairCopies(const TableSql& sql, pg::Connection& source, pg::Connection& target, const Mismatch& m) {
  std::vector<pg::Param> p;
  if (m.kind == MismatchKind::kExtraTarget) return Exec(target, sql.DeleteCopies(m.row_hash, m.copies, p), p);
  std::string select = sql.RowByHash(m.row_hash, p);
  std::optional<std::vector<pg::Param>> row = SourceRow(source, select, p);
  if (!row) return 0;  // the source no longer has that row: nothing to copy
  int64_t written = 0;
  for (int64_t i = 0; i < m.copies; ++i) {
    std::vector<pg::Param> wp;
    written += Exec(target, sql.Insert(*row, wp), wp);
  }
  return written;
}

// session_replication_role for the repair's writes; a role that may not set it repairs with triggers on, warned.
void ReplicaRole(pg::Connection& target, bool on) {
  if (!on) {
    target.Exec("RESET session_replication_role");
    return;
  }
  if (!pg::TrySetReplicaRole(target)) {
    log::For("validate")->warn("the target role may not set session_replication_role = replica: the repair writes "
                               "with the target's triggers and foreign-key checks on (they may add or change rows); "
                               "repair as a superuser to write as CDC does");
  }
}

std::string KeyDisplay(const KeyValues& key) {
  std::string out = "(";
  for (size_t i = 0; i < key.size(); ++i) out += (i ? ", " : "") + key[i];
  return out + ")";
}

}  // namespace

void RefuseWhileCdcReads(pg::Connection& source, const std::string& set_name, const std::string& slot) {
  pg::Result r = source.Exec(sql::Get("validate/slot_reader"), {pg::Param(slot)});
  if (r.rows() == 0) return;
  const std::string pid(r.Get(0, 0));
  throw Error(ErrorKind::kPrecondition, "set " + set_name + ": --repair refused: the set's slot " + slot +
                                            " is being read (pid " + pid + ", application '" +
                                            std::string(r.Get(0, 1)) + "', client " + std::string(r.Get(0, 2)) +
                                            ", since " + std::string(r.Get(0, 3)) + ")")
      .WithDetail("a repair writes each row as the source has it now, while CDC may still apply an older change of "
                  "the same row after it (leaving the older value) or insert a row the repair inserted (and stop); "
                  "nothing was compared or written")
      .WithHint("stop the set's CDC first, once it has applied everything (Ctrl-C or kill -TERM the walferry "
                "cdc/migrate process: it resumes exactly where it stopped); validate then checks that no change of "
                "the set waits in its slot. Run walferry validate --repair, then start CDC again. Or repair at the "
                "switch: walferry cutover --on-difference repair");
}

int64_t RepairTable(const TableSql& sql, pg::Connection& source, pg::Connection& target,
                    std::vector<Mismatch>& mismatches) {
  std::string table = sql.table().name.Display();
  return WithContext("repairing " + table + " on the target", [&] {
    int64_t written = 0;
    // As the CDC apply writes (cdc/applier.h): user triggers and foreign-key checks off, so an audit trigger adds
    // no rows and an updated_at trigger does not rewrite what is repaired. ENABLE ALWAYS triggers still fire.
    ReplicaRole(target, true);
    target.Exec("BEGIN");
    try {
      for (Mismatch& m : mismatches) {
        std::string what = "row " + (sql.keyed() ? KeyDisplay(m.key) : "md5 " + m.row_hash);
        written += WithContext(what, [&] {
          return sql.keyed() ? RepairKey(sql, source, target, m.key) : RepairCopies(sql, source, target, m);
        });
        m.repaired = true;
      }
      target.Exec("COMMIT");
      ReplicaRole(target, false);
    } catch (...) {
      if (target.IsOk()) {
        target.Exec("ROLLBACK");
        ReplicaRole(target, false);
      }
      for (Mismatch& m : mismatches) m.repaired = false;
      throw;
    }
    log::For("validate")->info("{}: repaired {} difference(s), {} row(s) written on the target", table,
                               mismatches.size(), written);
    return written;
  });
}

}  // namespace walferry::validate
