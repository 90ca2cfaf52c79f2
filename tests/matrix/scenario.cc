#include "matrix/scenario.h"

#include <algorithm>
#include <functional>

#include "matrix/types.h"

namespace walferry::matrix {

uint64_t Rng::Next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

namespace {

std::string Quote(const std::string& ident) {
  std::string out = "\"";
  for (char c : ident) out += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}
// Bare when it needs no quotes (lower case letters, digits, _), so both spellings reach walferry.
std::string Ident(const std::string& ident) {
  bool bare = !ident.empty() && !(ident[0] >= '0' && ident[0] <= '9');
  for (char c : ident) bare = bare && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  return bare ? ident : Quote(ident);
}

enum class Kind {
  kPk, kUsingIndex, kPkFull, kKeylessFull, kSerial, kIdentityAlways, kIdentityDefault, kList, kRange, kHash,
  kInheritParent, kInheritChild, kFkParent, kFkChild, kLob
};

struct Table {
  Kind kind;
  std::string q;                            // quoted schema.table
  std::string raw_name;                     // unquoted table name, for partitions' names
  std::string schema_q;                     // quoted schema
  std::string v;                            // the quoted text column every table has
  std::vector<const TypeFamily*> families;  // typed columns c1..cn
  bool toast = false;
  bool keyless = false;
  bool seq_other_schema = false;            // a column defaulting to nextval('ids.order_id')
  int64_t next = 1;                         // the next fresh key
  std::vector<std::string> truncatable;     // quoted partitions (leaves and inner) a TRUNCATE may name
  int link = -1;                            // inheritance child -> parent, fk child -> referenced table
  bool partitioned() const { return kind == Kind::kList || kind == Kind::kRange || kind == Kind::kHash; }
  bool generated_id() const {
    return kind == Kind::kSerial || kind == Kind::kIdentityAlways || kind == Kind::kIdentityDefault;
  }
  bool has_key_updates() const {
    return !keyless && kind != Kind::kIdentityAlways && kind != Kind::kSerial && kind != Kind::kIdentityDefault;
  }
};

class Generator {
 public:
  Generator(uint64_t seed, const std::string& prefix) : rng_(seed), prefix_(prefix) { s_.seed = seed; }

  Scenario Run() {
    s_.latin1_source = rng_.Chance(20);
    if (s_.latin1_source) Feature("db:latin1");
    ddl_ += TypeDdl();
    DrawTables();
    for (size_t i = 0; i < tables_.size(); ++i) ddl_ += TableDdl(i);
    for (size_t i = 0; i < tables_.size(); ++i) {
      int rows = tables_[i].toast ? 3 + static_cast<int>(rng_.Below(6)) : 5 + static_cast<int>(rng_.Below(30));
      if (tables_[i].kind == Kind::kLob) rows = 2 + static_cast<int>(rng_.Below(4));
      ddl_ += Insert(i, rows) + ";\n";
      if (tables_[i].keyless) ddl_ += DuplicateRow(i) + ";\n";
    }
    for (int k = 0; k < standalone_sequences_; ++k) ddl_ += "SELECT nextval('seq_" + std::to_string(k) + "');\n";
    s_.schema_sql = ddl_;
    SplitIntoSets();
    int during = static_cast<int>(rng_.Below(6));
    if (during > 0) Feature("work:during_load");
    for (int i = 0; i < during; ++i) s_.during_load.push_back(Transaction(true));
    int n = 30 + static_cast<int>(rng_.Below(50));
    for (int i = 0; i < n; ++i) s_.workload.push_back(Transaction());
    int kills = static_cast<int>(rng_.Below(4));
    for (int i = 0; i < kills; ++i) s_.kill_after.push_back(rng_.Below(s_.workload.size()));
    std::sort(s_.kill_after.begin(), s_.kill_after.end());
    s_.kill_after.erase(std::unique(s_.kill_after.begin(), s_.kill_after.end()), s_.kill_after.end());
    for (size_t i = 0; i < s_.kill_after.size(); ++i) Feature("fault:cdc_kill");
    s_.cdc_per_set = s_.sets.size() > 1 && rng_.Chance(35);
    if (s_.cdc_per_set) Feature("cdc:process_per_set");
    s_.cdc_running_at_cutover = rng_.Chance(50);
    if (s_.cdc_running_at_cutover) Feature("cdc:running_at_cutover");
    if (rng_.Chance(25)) {
      static const std::vector<std::string> steps = {"stopping_writes", "writes_stopped", "caught_up", "sequences",
                                                     "large_objects", "validated", "target_ready"};
      s_.cutover_kill_after = rng_.Pick(steps);
      Feature("fault:cutover_kill");
    }
    // Drawn last, so that the scenarios of earlier seeds stay what they were.
    if (rng_.Chance(25)) {
      s_.restart_set = s_.sets[rng_.Below(s_.sets.size())].name;
      s_.restart_after = rng_.Below(s_.workload.size());
      Feature("op:restart_set");
      // The seams: the restarted set holds a parent (or a referenced table) whose child (referencing table) streams
      // in another set. walferry must refuse before it changes anything.
      std::map<std::string, std::string> set_of;
      for (const SetPlan& set : s_.sets) {
        for (const std::string& t : set.tables) set_of[t] = set.name;
      }
      for (const Table& t : tables_) {
        if (t.link < 0) continue;
        const std::string& linked = set_of[tables_[static_cast<size_t>(t.link)].q];
        if (linked != s_.restart_set || set_of[t.q] == s_.restart_set) continue;
        if (t.kind == Kind::kInheritChild) Feature("op:restart_parent_apart");
        if (t.kind == Kind::kFkChild) Feature("op:restart_referenced_apart");
      }
    }
    // Drawn after everything above, so that the scenarios of earlier seeds keep their schema, sets and faults.
    for (SetPlan& set : s_.sets) {
      set.batch = rng_.Chance(40);
      if (set.batch) Feature("apply:batch");
    }
    if (rng_.Chance(12)) ManySmallTables();
    s_.stream_transactions = rng_.Chance(50);
    if (s_.stream_transactions) Feature("cdc:streamed_transactions");
    s_.stream_at_commit = s_.stream_transactions && rng_.Chance(30);
    if (s_.stream_at_commit) Feature("cdc:streamed_at_commit");
    const bool any_batch = std::any_of(s_.sets.begin(), s_.sets.end(), [](const SetPlan& p) { return p.batch; });
    s_.two_apply_connections = any_batch && rng_.Chance(50);
    if (s_.two_apply_connections) Feature("cdc:two_apply_connections");
    return std::move(s_);
  }

 private:
  // 101-130 small keyed tables in one set (an existing one or a new one), a few rows each, and a few appended
  // workload transactions that change some of them: validate checks small tables up to 100 per statement
  // (docs/validate.md), so this set is checked in two groups or more, and the load and CDC carry many relations.
  void ManySmallTables() {
    Feature("schema:many_small_tables");
    int n = 101 + static_cast<int>(rng_.Below(30));
    std::string ddl = "CREATE SCHEMA tiny;\n";
    std::vector<std::string> names;
    for (int k = 0; k < n; ++k) {
      std::string q = "tiny." + (k % 10 == 3 ? Quote("Tiny " + std::to_string(k)) : "t" + std::to_string(k));
      names.push_back(q);
      ddl += "CREATE TABLE " + q + " (id int PRIMARY KEY, v text, n numeric);\n";
      ddl += "INSERT INTO " + q + " SELECT g, 'r' || g, g / 10.0 FROM generate_series(1, " +
             std::to_string(1 + rng_.Below(5)) + ") g;\n";
    }
    s_.schema_sql += ddl;
    if (rng_.Chance(50) || s_.sets.size() >= 4) {
      SetPlan& set = s_.sets[rng_.Below(s_.sets.size())];
      set.tables.insert(set.tables.end(), names.begin(), names.end());
    } else {
      SetPlan set{prefix_ + "_" + std::to_string(s_.sets.size() + 1), names};
      set.batch = rng_.Chance(40);
      if (set.batch) Feature("apply:batch");
      s_.sets.push_back(set);
    }
    int txns = 3 + static_cast<int>(rng_.Below(6));
    for (int i = 0; i < txns; ++i) {
      const std::string& q = names[rng_.Below(names.size())];
      std::string id = std::to_string(10 + i);
      s_.workload.push_back("BEGIN;\nINSERT INTO " + q + " VALUES (" + id + ", 'w" + id + "', 1.00);\nUPDATE " + q +
                            " SET n = n * 1.0, v = v || 'u' WHERE id = 1;\nDELETE FROM " +
                            names[rng_.Below(names.size())] + " WHERE id = 2;\nCOMMIT;\n");
    }
  }
  void Feature(const std::string& f) { ++s_.features[f]; }

  // ---- schema -------------------------------------------------------------------------------------------
  void DrawTables() {
    // One table always holds a third of the type families (a different third each seed), so that every family
    // is reached within three consecutive seeds; the other tables draw one to three families at random.
    const auto& fams = TypeFamilies();
    std::vector<const TypeFamily*> third;
    for (size_t i = 0; i < fams.size(); ++i) {
      if (i % 3 == s_.seed % 3) third.push_back(&fams[i]);
    }
    AddTable(Kind::kPk, third);
    static const std::vector<Kind> kinds = {Kind::kPk, Kind::kUsingIndex, Kind::kPkFull, Kind::kKeylessFull,
                                            Kind::kSerial, Kind::kIdentityAlways, Kind::kIdentityDefault,
                                            Kind::kList, Kind::kRange, Kind::kHash, Kind::kInheritParent,
                                            Kind::kFkParent, Kind::kLob};
    int n = 3 + static_cast<int>(rng_.Below(5));
    for (int i = 0; i < n; ++i) AddTable(rng_.Pick(kinds), {});
    standalone_sequences_ = static_cast<int>(rng_.Below(3));
    for (int k = 0; k < standalone_sequences_; ++k) {
      Feature("seq:standalone");
      ddl_ += "CREATE SEQUENCE seq_" + std::to_string(k) + " START " + std::to_string(100 + k) + " INCREMENT " +
              std::to_string(1 + k * 3) + ";\n";
    }
  }

  void AddTable(Kind kind, std::vector<const TypeFamily*> families) {
    Table t;
    t.kind = kind;
    int index = static_cast<int>(tables_.size());
    bool quoted = rng_.Chance(25);
    if (quoted) {
      Feature("names:quoted_mixed_case");
      if (!sales_schema_) ddl_ += "CREATE SCHEMA \"Sales Dept\";\n";
      sales_schema_ = true;
      t.schema_q = Quote("Sales Dept");
      t.raw_name = "Order Items " + std::to_string(index);
      t.v = Quote("Note \"V\"");
    } else {
      t.schema_q = "public";
      t.raw_name = "t" + std::to_string(index);
      t.v = "v";
    }
    t.q = t.schema_q + "." + Ident(t.raw_name);
    if (families.empty()) {
      const auto& fams = TypeFamilies();
      int n = 1 + static_cast<int>(rng_.Below(3));
      for (int i = 0; i < n; ++i) families.push_back(&fams[rng_.Below(fams.size())]);
    }
    for (const TypeFamily* f : families) Feature("type:" + f->name);
    t.families = families;
    t.toast = kind != Kind::kLob && rng_.Chance(25);
    if (t.toast) Feature("toast");
    t.keyless = kind == Kind::kKeylessFull;
    t.seq_other_schema = (kind == Kind::kPk || kind == Kind::kPkFull) && rng_.Chance(15);
    if (t.seq_other_schema) {
      Feature("seq:other_schema");
      if (!ids_schema_) ddl_ += "CREATE SCHEMA ids;\nCREATE SEQUENCE ids.order_id START 1000;\n";
      ids_schema_ = true;
    }
    tables_.push_back(t);
    switch (kind) {
      case Kind::kPk: Feature("key:pk"); break;
      case Kind::kUsingIndex: Feature("key:using_index"); break;
      case Kind::kPkFull: Feature("key:pk_replica_full"); break;
      case Kind::kKeylessFull: Feature("key:keyless_full_duplicates"); break;
      case Kind::kSerial: Feature("seq:owned_serial"); break;
      case Kind::kIdentityAlways: Feature("col:identity_always"); Feature("col:generated_stored"); break;
      case Kind::kIdentityDefault: Feature("col:identity_default"); break;
      case Kind::kList: Feature("part:list"); Feature("part:subpartitions"); Feature("part:default"); break;
      case Kind::kRange: Feature("part:range"); Feature("part:subpartitions"); Feature("part:default"); break;
      case Kind::kHash: Feature("part:hash"); break;
      case Kind::kLob: Feature("lo"); break;
      case Kind::kInheritParent: {
        Feature("inherit:parent_child");
        int children = 1 + static_cast<int>(rng_.Below(2));
        for (int c = 0; c < children; ++c) {
          Table child = tables_[index];
          child.kind = Kind::kInheritChild;
          child.raw_name = tables_[index].raw_name + "_child" + std::to_string(c);
          child.q = child.schema_q + "." + Ident(child.raw_name);
          child.keyless = rng_.Chance(35);
          child.toast = false;
          child.seq_other_schema = false;
          child.link = index;
          if (child.keyless) Feature("inherit:keyless_child");
          tables_.push_back(child);
        }
        break;
      }
      case Kind::kFkParent: {
        Feature("fk:referenced");
        Table child = tables_[index];
        child.kind = Kind::kFkChild;
        child.raw_name = tables_[index].raw_name + "_ref";
        child.q = child.schema_q + "." + Ident(child.raw_name);
        child.toast = false;
        child.seq_other_schema = false;
        child.link = index;
        tables_.push_back(child);
        break;
      }
      case Kind::kInheritChild:
      case Kind::kFkChild: break;
    }
  }

  std::string TypedColumns(const Table& t) const {
    std::string out;
    for (size_t i = 0; i < t.families.size(); ++i) out += ", c" + std::to_string(i + 1) + " " + t.families[i]->sql_type;
    if (t.toast) out += ", big text";
    if (t.seq_other_schema) out += ", ref bigint DEFAULT nextval('ids.order_id')";
    return out;
  }

  std::string TableDdl(size_t i) {
    const Table& t = tables_[i];
    std::string cols = t.v + " text" + TypedColumns(t);
    std::string sql;
    auto part = [&](const std::string& name) { return t.schema_q + "." + Ident(t.raw_name + "_" + name); };
    switch (t.kind) {
      case Kind::kPk:
        return "CREATE TABLE " + t.q + " (id bigint PRIMARY KEY, " + cols + ");\n";
      case Kind::kUsingIndex:
        return "CREATE TABLE " + t.q + " (id bigint NOT NULL, " + cols + ");\nCREATE UNIQUE INDEX " +
               Ident(t.raw_name + "_uk") + " ON " + t.q + " (id);\nALTER TABLE " + t.q +
               " REPLICA IDENTITY USING INDEX " + Ident(t.raw_name + "_uk") + ";\n";
      case Kind::kPkFull:
        return "CREATE TABLE " + t.q + " (id bigint PRIMARY KEY, " + cols + ");\nALTER TABLE " + t.q +
               " REPLICA IDENTITY FULL;\n";
      case Kind::kKeylessFull:
        return "CREATE TABLE " + t.q + " (id bigint, " + cols + ");\nALTER TABLE " + t.q + " REPLICA IDENTITY FULL;\n";
      case Kind::kSerial:
        return "CREATE TABLE " + t.q + " (id bigserial PRIMARY KEY, " + cols + ");\n";
      case Kind::kIdentityAlways:
        return "CREATE TABLE " + t.q + " (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, a int, " +
               "b int GENERATED ALWAYS AS (a * 2 + 1) STORED, " + cols + ");\n";
      case Kind::kIdentityDefault:
        return "CREATE TABLE " + t.q + " (id bigint GENERATED BY DEFAULT AS IDENTITY (START 50) PRIMARY KEY, " +
               cols + ");\n";
      case Kind::kList:
        // eu, us (hash sub-partitions), a default that takes everything else.
        sql = "CREATE TABLE " + t.q + " (id bigint, region text, " + cols +
              ", PRIMARY KEY (id, region)) PARTITION BY LIST (region);\n";
        sql += "CREATE TABLE " + part("eu") + " PARTITION OF " + t.q + " FOR VALUES IN ('eu');\n";
        sql += "CREATE TABLE " + part("us") + " PARTITION OF " + t.q + " FOR VALUES IN ('us') PARTITION BY HASH (id);\n";
        sql += "CREATE TABLE " + part("us0") + " PARTITION OF " + part("us") + " FOR VALUES WITH (MODULUS 2, REMAINDER 0);\n";
        sql += "CREATE TABLE " + part("us1") + " PARTITION OF " + part("us") + " FOR VALUES WITH (MODULUS 2, REMAINDER 1);\n";
        sql += "CREATE TABLE " + part("other") + " PARTITION OF " + t.q + " DEFAULT;\n";
        tables_[i].truncatable = {part("eu"), part("us"), part("us0"), part("us1"), part("other")};
        return sql;
      case Kind::kRange:
        // Keys below 1000, 1000-1999 (list sub-partitions by key parity), and a default for the rest.
        sql = "CREATE TABLE " + t.q + " (id bigint PRIMARY KEY, " + cols + ") PARTITION BY RANGE (id);\n";
        sql += "CREATE TABLE " + part("low") + " PARTITION OF " + t.q + " FOR VALUES FROM (MINVALUE) TO (1000);\n";
        sql += "CREATE TABLE " + part("mid") + " PARTITION OF " + t.q +
               " FOR VALUES FROM (1000) TO (2000) PARTITION BY HASH (id);\n";
        sql += "CREATE TABLE " + part("mid0") + " PARTITION OF " + part("mid") + " FOR VALUES WITH (MODULUS 2, REMAINDER 0);\n";
        sql += "CREATE TABLE " + part("mid1") + " PARTITION OF " + part("mid") + " FOR VALUES WITH (MODULUS 2, REMAINDER 1);\n";
        sql += "CREATE TABLE " + part("rest") + " PARTITION OF " + t.q + " DEFAULT;\n";
        tables_[i].truncatable = {part("low"), part("mid"), part("mid0"), part("rest")};
        return sql;
      case Kind::kHash:
        sql = "CREATE TABLE " + t.q + " (id bigint PRIMARY KEY, " + cols + ") PARTITION BY HASH (id);\n";
        for (int r = 0; r < 3; ++r) {
          std::string p = part("h" + std::to_string(r));
          sql += "CREATE TABLE " + p + " PARTITION OF " + t.q + " FOR VALUES WITH (MODULUS 3, REMAINDER " +
                 std::to_string(r) + ");\n";
          tables_[i].truncatable.push_back(p);
        }
        return sql;
      case Kind::kInheritParent:
        return "CREATE TABLE " + t.q + " (id bigint PRIMARY KEY, " + cols + ");\n";
      case Kind::kInheritChild:
        // Its own key (a parent's key does not cover its children); keys overlap the parent's on purpose.
        sql = "CREATE TABLE " + t.q + " (extra int) INHERITS (" + tables_[t.link].q + ");\n";
        if (t.keyless) return sql + "ALTER TABLE " + t.q + " REPLICA IDENTITY FULL;\n";
        return sql + "ALTER TABLE " + t.q + " ADD PRIMARY KEY (id);\n";
      case Kind::kFkParent:
        return "CREATE TABLE " + t.q + " (id bigint PRIMARY KEY, " + cols + ");\n";
      case Kind::kFkChild:
        return "CREATE TABLE " + t.q + " (id bigint PRIMARY KEY, r_id bigint REFERENCES " + tables_[t.link].q +
               " (id) ON DELETE CASCADE ON UPDATE CASCADE, " + cols + ");\n";
      case Kind::kLob:
        return "CREATE TABLE " + t.q + " (id bigint PRIMARY KEY, doc oid, " + cols + ");\n";
    }
    return "";
  }

  // ---- values and statements ----------------------------------------------------------------------------
  std::string Value(const TypeFamily& f) {
    if (rng_.Chance(8)) return "NULL";
    if (!s_.latin1_source && !f.utf8_values.empty() && rng_.Chance(40)) return rng_.Pick(f.utf8_values);
    return rng_.Pick(f.values);
  }
  // Incompressible enough to be stored out of line (TOAST), 9-19 kB of hex.
  std::string BigValue() {
    return "(SELECT string_agg(md5(g::text || '" + std::to_string(rng_.Next()) + "'), '') FROM generate_series(1, " +
           std::to_string(300 + rng_.Below(300)) + ") g)";
  }
  std::string Text() { return "'x" + std::to_string(rng_.Below(1000000)) + "'"; }
  int64_t FreshKey(Table& t) {
    int64_t n = t.next++;
    if (t.kind != Kind::kRange) return n;
    // Spread over the range partitions: below 1000, 1000-1999 (sub-partitioned), and the default above.
    uint64_t band = n < 1000 ? rng_.Below(3) : 2;
    return band == 0 ? n : band == 1 ? 1000 + n : 100000 + n;
  }

  // (columns) VALUES (row), ... for n fresh rows of table i.
  std::string Insert(size_t i, int n) {
    Table& t = tables_[i];
    std::string cols;
    auto add = [&](const std::string& c) { cols += (cols.empty() ? "" : ", ") + c; };
    if (!t.generated_id()) add("id");
    if (t.kind == Kind::kList) add("region");
    if (t.kind == Kind::kIdentityAlways) add("a");
    if (t.kind == Kind::kFkChild) add("r_id");
    if (t.kind == Kind::kLob) add("doc");
    if (t.kind == Kind::kInheritChild) add("extra");
    add(t.v);
    for (size_t c = 0; c < t.families.size(); ++c) add("c" + std::to_string(c + 1));
    if (t.toast) add("big");
    std::string rows;
    for (int r = 0; r < n; ++r) {
      std::string vals;
      auto val = [&](const std::string& v) { vals += (vals.empty() ? "" : ", ") + v; };
      if (!t.generated_id()) val(std::to_string(FreshKey(t)));
      if (t.kind == Kind::kList) val(rng_.Pick(std::vector<std::string>{"'eu'", "'us'", "'apac'", "'xx'"}));
      if (t.kind == Kind::kIdentityAlways) val(std::to_string(rng_.Below(1000)));
      if (t.kind == Kind::kFkChild) val("(SELECT max(id) FROM " + tables_[t.link].q + ")");
      if (t.kind == Kind::kLob) val(LoValue());
      if (t.kind == Kind::kInheritChild) val(std::to_string(rng_.Below(100)));
      val(Text());
      for (const TypeFamily* f : t.families) val(Value(*f));
      if (t.toast) val(BigValue());
      rows += (rows.empty() ? "(" : ", (") + vals + ")";
    }
    return "INSERT INTO " + t.q + " (" + cols + ") VALUES " + rows;
  }
  std::string LoValue() {
    return "lo_from_bytea(0, decode(md5('" + std::to_string(rng_.Next()) + "'), 'hex') || '\\x00ff'::bytea)";
  }

  // A row of table i picked by the source: by key, or by ctid where there is no key.
  std::string Pick(const Table& t) {
    std::string from = t.partitioned() ? t.q : "ONLY " + t.q;
    std::string offset = std::to_string(rng_.Below(12));
    if (t.keyless) {
      return "ctid = (SELECT ctid FROM " + from + " ORDER BY " + t.v + ", ctid OFFSET " + offset + " LIMIT 1)";
    }
    return "id = (SELECT id FROM " + from + " ORDER BY id OFFSET " + offset + " LIMIT 1)";
  }
  std::string Only(const Table& t) {
    // A legacy-inheritance parent is sometimes changed with its children (no ONLY), sometimes alone.
    if (t.kind == Kind::kInheritParent && rng_.Chance(50)) {
      Feature("work:through_parent");
      return t.q;
    }
    return t.partitioned() ? t.q : "ONLY " + t.q;
  }
  std::string DuplicateRow(size_t i) {
    const Table& t = tables_[i];
    return "INSERT INTO " + t.q + " SELECT * FROM ONLY " + t.q + " WHERE " + Pick(t);
  }

  // `during_load`: no TRUNCATE (its ACCESS EXCLUSIVE lock would queue behind the load's snapshot locks, and the
  // load then stops rather than wait: docs/load.md).
  std::string Statement(bool during_load) {
    size_t i = rng_.Below(tables_.size());
    Table& t = tables_[i];
    uint64_t op = rng_.Below(100);
    if (op < 30) {
      Feature("work:insert");
      return Insert(i, 1 + static_cast<int>(rng_.Below(3)));
    }
    if (op < 50) {
      Feature(t.toast ? "work:update_toast_unchanged" : "work:update_nonkey");
      std::string set = t.v + " = " + Text();
      if (!t.families.empty() && rng_.Chance(50)) set += ", c1 = " + Value(*t.families[0]);
      if (t.kind == Kind::kIdentityAlways) set += ", a = a + 1";
      return "UPDATE " + Only(t) + " SET " + set + " WHERE " + Pick(t);
    }
    if (op < 60 && t.has_key_updates()) {
      if (t.kind == Kind::kList && rng_.Chance(60)) {
        Feature("work:partition_move");
        return "UPDATE " + t.q + " SET region = " +
               rng_.Pick(std::vector<std::string>{"'eu'", "'us'", "'apac'"}) + " WHERE " + Pick(t);
      }
      Feature(t.partitioned() ? "work:partition_move" : "work:update_key");
      // Never through an inheritance parent: its children's keys overlap its own.
      std::string target = t.partitioned() ? t.q : "ONLY " + t.q;
      return "UPDATE " + target + " SET id = " + std::to_string(FreshKey(t)) + " WHERE " + Pick(t);
    }
    if (op < 72) {
      Feature("work:delete");
      if (t.kind == Kind::kLob) {
        std::string pick = Pick(t);
        return "SELECT lo_unlink(doc) FROM " + t.q + " WHERE " + pick + " AND doc IS NOT NULL; DELETE FROM " + t.q +
               " WHERE " + pick;
      }
      return "DELETE FROM " + Only(t) + " WHERE " + Pick(t);
    }
    if (op < 76 && !during_load) {
      if (t.partitioned() && rng_.Chance(70)) {
        Feature("work:truncate_partition");
        return "TRUNCATE " + rng_.Pick(t.truncatable);
      }
      if (t.kind == Kind::kFkParent) {
        Feature("work:truncate_cascade");
        return "TRUNCATE " + t.q + " CASCADE";
      }
      if (t.kind == Kind::kLob) return "SELECT 1";  // its large objects would be orphans on the source only
      Feature("work:truncate");
      return "TRUNCATE " + Only(t);
    }
    if (op < 82 && t.keyless) {
      Feature("work:duplicate_row");
      return DuplicateRow(i);
    }
    if (op < 86 && t.kind == Kind::kLob) {
      Feature("lo:write");
      return "SELECT lo_put(doc, " + std::to_string(rng_.Below(40)) + ", decode(md5('" +
             std::to_string(rng_.Next()) + "'), 'hex')) FROM " + t.q + " WHERE " + Pick(t) + " AND doc IS NOT NULL";
    }
    if (op < 92 && standalone_sequences_ > 0) {
      Feature("work:sequence");
      std::string seq = "seq_" + std::to_string(rng_.Below(standalone_sequences_));
      if (rng_.Chance(20)) return "SELECT setval('" + seq + "', " + std::to_string(500 + rng_.Below(500)) + ", false)";
      return "SELECT nextval('" + seq + "') FROM generate_series(1, " + std::to_string(1 + rng_.Below(5)) + ")";
    }
    Feature("work:insert");
    return Insert(i, 1);
  }

  // One source transaction: 1-4 statements, sometimes a part rolled back to a savepoint, sometimes a large one,
  // sometimes all rolled back.
  std::string Transaction(bool during_load = false) {
    std::string sql = "BEGIN;\n";
    int n = 1 + static_cast<int>(rng_.Below(4));
    for (int k = 0; k < n; ++k) sql += Statement(during_load) + ";\n";
    if (rng_.Chance(15)) {
      Feature("work:savepoint_rollback");
      sql += "SAVEPOINT sp;\n" + Statement(during_load) + ";\n" + Statement(during_load) +
             ";\nROLLBACK TO SAVEPOINT sp;\n" + Statement(during_load) + ";\n";
    }
    if (rng_.Chance(4)) {
      Feature("work:large_transaction");
      sql += LargeInsert() + ";\n";
    }
    if (rng_.Chance(5)) {
      Feature("work:rollback");
      return sql + "ROLLBACK;\n";
    }
    return sql + "COMMIT;\n";
  }
  std::string LargeInsert() {
    // Into a plain keyed table: 3,000 rows with keys from a reserved range.
    for (size_t tries = 0; tries < tables_.size(); ++tries) {
      Table& t = tables_[rng_.Below(tables_.size())];
      if (t.kind != Kind::kPk && t.kind != Kind::kPkFull && t.kind != Kind::kKeylessFull) continue;
      int64_t base = t.next;
      t.next += 3001;
      std::string cols = "id, " + t.v, vals = std::to_string(base) + " + g, 'bulk' || g";
      for (size_t c = 0; c < t.families.size(); ++c) {
        cols += ", c" + std::to_string(c + 1);
        vals += ", " + Value(*t.families[c]);
      }
      return "INSERT INTO " + t.q + " (" + cols + ") SELECT " + vals + " FROM generate_series(1, 3000) g";
    }
    return "SELECT 1";
  }

  // ---- sets ---------------------------------------------------------------------------------------------
  void SplitIntoSets() {
    size_t n = 1 + rng_.Below(4);
    Feature("sets:" + std::to_string(n));
    std::vector<size_t> set_of(tables_.size());
    for (size_t i = 0; i < tables_.size(); ++i) {
      set_of[i] = rng_.Below(n);
      const Table& t = tables_[i];
      if (n > 1 && t.link >= 0) {
        bool apart = rng_.Chance(t.kind == Kind::kInheritChild ? 70 : 50);
        size_t linked = set_of[static_cast<size_t>(t.link)];
        set_of[i] = apart ? (linked + 1 + rng_.Below(n - 1)) % n : linked;
        if (apart) Feature(t.kind == Kind::kInheritChild ? "split:parent_child_apart" : "fk:across_sets");
        else if (t.kind == Kind::kFkChild) Feature("fk:within_set");
      } else if (t.link >= 0 && t.kind == Kind::kFkChild) {
        Feature("fk:within_set");
      }
    }
    for (size_t k = 0; k < n; ++k) {
      SetPlan set{prefix_ + "_" + std::to_string(s_.sets.size() + 1), {}};
      for (size_t i = 0; i < tables_.size(); ++i) {
        if (set_of[i] == k) set.tables.push_back(tables_[i].q);
      }
      if (!set.tables.empty()) s_.sets.push_back(set);
    }
  }

  Rng rng_;
  std::string prefix_;
  Scenario s_;
  std::string ddl_;
  std::vector<Table> tables_;
  int standalone_sequences_ = 0;
  bool sales_schema_ = false;
  bool ids_schema_ = false;
};

}  // namespace

Scenario Generate(uint64_t seed, const std::string& set_prefix) { return Generator(seed, set_prefix).Run(); }

std::vector<std::string> CatalogueFeatures() {
  std::vector<std::string> f = {
      "db:latin1", "names:quoted_mixed_case", "key:pk", "key:using_index", "key:pk_replica_full",
      "key:keyless_full_duplicates", "seq:owned_serial", "seq:standalone", "seq:other_schema",
      "col:identity_always", "col:identity_default", "col:generated_stored", "part:list", "part:range",
      "part:hash", "part:subpartitions", "part:default", "inherit:parent_child", "inherit:keyless_child",
      "fk:referenced", "fk:within_set", "fk:across_sets", "split:parent_child_apart", "toast", "lo", "lo:write",
      "sets:1", "sets:2", "sets:3", "sets:4", "work:insert", "work:update_nonkey", "work:update_toast_unchanged",
      "work:update_key", "work:delete", "work:truncate", "work:truncate_partition", "work:truncate_cascade",
      "work:partition_move", "work:through_parent", "work:duplicate_row", "work:sequence",
      "work:savepoint_rollback", "work:large_transaction", "work:rollback", "work:during_load", "fault:cdc_kill",
      "fault:cutover_kill", "cdc:process_per_set", "cdc:running_at_cutover", "op:restart_set",
      "op:restart_parent_apart", "op:restart_referenced_apart", "apply:batch", "schema:many_small_tables", "cdc:streamed_transactions",
      "cdc:streamed_at_commit", "cdc:two_apply_connections"};
  for (const TypeFamily& t : TypeFamilies()) f.push_back("type:" + t.name);
  return f;
}

}  // namespace walferry::matrix
