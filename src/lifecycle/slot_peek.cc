#include "lifecycle/slot_peek.h"

#include <optional>
#include <string>
#include <variant>

#include "cdc/pgoutput_decoder.h"
#include "common/error.h"
#include "pg/quote.h"
#include "sql/sql.h"

namespace walferry::lifecycle {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  throw Error(ErrorKind::kProtocol, std::string("bad hex digit '") + c + "' in a peeked message");
}

std::string FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) throw Error(ErrorKind::kProtocol, "a peeked message has an odd number of hex digits");
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<char>(HexDigit(hex[2 * i]) * 16 + HexDigit(hex[2 * i + 1]));
  }
  return out;
}

// Follows one transaction at a time: the Begin's commit position and time, the tables its changes touch.
class Collector {
 public:
  Collector(Lsn final_lsn) : final_lsn_(final_lsn), decoder_(1) {}

  void Feed(std::string_view bytes) {
    cdc::Message m = decoder_.Decode(bytes);
    if (const auto* b = std::get_if<cdc::Begin>(&m)) {
      open_ = EscapedTransaction{b->xid.value, cdc::FormatPgTimestamp(b->commit_time), b->final_lsn, {}};
    } else if (const auto* i = std::get_if<cdc::Insert>(&m)) {
      Touch(i->relation_id);
    } else if (const auto* u = std::get_if<cdc::Update>(&m)) {
      Touch(u->relation_id);
    } else if (const auto* d = std::get_if<cdc::Delete>(&m)) {
      Touch(d->relation_id);
    } else if (const auto* t = std::get_if<cdc::Truncate>(&m)) {
      for (cdc::RelationId id : t->relation_ids) Touch(id);
    } else if (std::holds_alternative<cdc::Commit>(m)) {
      if (open_ && !open_->tables.empty() && open_->commit_lsn >= final_lsn_) out_.push_back(std::move(*open_));
      open_.reset();
    }
  }

  std::vector<EscapedTransaction> Take() { return std::move(out_); }

 private:
  void Touch(cdc::RelationId id) {
    if (!open_) throw Error(ErrorKind::kProtocol, "a peeked row change outside a transaction");
    const cdc::Relation* r = decoder_.FindRelation(id);
    open_->tables.insert(r ? r->namespace_name + "." + r->name : "relation " + std::to_string(id.value));
  }

  Lsn final_lsn_;
  cdc::Decoder decoder_;
  std::optional<EscapedTransaction> open_;
  std::vector<EscapedTransaction> out_;
};

}  // namespace

std::vector<EscapedTransaction> CommittedAfter(pg::Connection& source, const std::string& slot,
                                               const std::string& publication, Lsn final_lsn) {
  return WithContext("reading slot " + slot + " past the final position " + final_lsn.ToString() +
                         " (without consuming it)",
                     [&] {
                       // A peek reads up to the WAL flushed so far: a transaction committed asynchronously
                       // (synchronous_commit = off) just before may not be flushed yet and would be missed. This
                       // commit flushes the WAL through every record inserted before it.
                       source.Exec(std::string(sql::Get("cdc/flush_source_wal")));
                       pg::Result r = source.Exec(sql::Get("lifecycle/slot_peek"),
                                                  {pg::Param(slot), pg::Param(pg::QuoteIdent(publication))});
                       Collector c(final_lsn);
                       for (int i = 0; i < r.rows(); ++i) c.Feed(FromHex(r.Get(i, 0)));
                       return c.Take();
                     });
}

std::string Describe(const EscapedTransaction& t) {
  std::string tables;
  for (const std::string& name : t.tables) tables += (tables.empty() ? "" : ", ") + name;
  return "xid " + std::to_string(t.xid) + " committed " + t.commit_time + " at " + t.commit_lsn.ToString() + " (" +
         tables + ")";
}

}  // namespace walferry::lifecycle
