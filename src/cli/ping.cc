// cli/ping.cc: `walferry ping` connects to source and target and reports what each server is and what the
// connecting role may do there. Read-only. Exit 0 when both connect, 1 when one cannot be reached.
#include <iostream>

#include <nlohmann/json.hpp>

#include "assess/server_facts.h"
#include "cli/command.h"
#include "common/log.h"

namespace walferry::cli {
namespace {

const char* YesNo(bool b) { return b ? "yes" : "NO"; }

class PingCommand : public Command {
 public:
  std::string Name() const override { return "ping"; }
  std::string Description() const override {
    return "Connect to source and target; report versions, wal_level and the roles' privileges";
  }
  void Setup(CLI::App& app) override { flags_.Add(app, true, true); }
  void ApplyFlags(Context& ctx) override { flags_.Apply(ctx, true, true); }

  int Run(Context& ctx) override {
    nlohmann::json out;
    bool all_ok = true;
    for (const auto& [role, conninfo] : {std::pair{"source", ctx.config.source}, {"target", ctx.config.target}}) {
      try {
        pg::Connection conn = pg::Connection::Open(conninfo, {.role = role});
        assess::ServerFacts facts = assess::GatherServerFacts(conn);
        out[role] = assess::ToJson(facts);
        out[role]["conninfo"] = conn.redacted_conninfo();
        if (!ctx.global.json) Print(role, conn.redacted_conninfo(), facts);
      } catch (const Error& e) {
        all_ok = false;
        out[role] = {{"error", e.what()}};
        if (!ctx.global.json) std::cout << role << ": cannot connect\n  " << e.what() << "\n";
      }
    }
    if (ctx.global.json) std::cout << out.dump(2) << "\n";
    return all_ok ? kExitOk : kExitFailure;
  }

 private:
  static void Print(const std::string& role, const std::string& conninfo, const assess::ServerFacts& f) {
    std::cout << role << ": " << conninfo << "\n"
              << "  server version      " << f.server_version << "\n"
              << "  wal_level           " << f.wal_level
              << (role == "source" && f.wal_level != "logical" ? "  (must be 'logical': set wal_level=logical "
                                                                 "and restart the source)"
                                                               : "")
              << "\n"
              << "  role                " << f.role_name << (f.is_superuser ? " (superuser)" : "") << " on database "
              << f.database << "\n";
    if (role == "source") {
      std::cout << "  replication slots   can create: " << YesNo(f.CanCreateReplicationSlots()) << " (" << f.slots_used
                << " of " << f.max_replication_slots << " in use)\n"
                << "  publications        can create: " << YesNo(f.CanCreatePublications()) << "\n";
    } else {
      std::cout << "  schemas and tables  can create: " << YesNo(f.CanCreateSchemasAndTables()) << "\n";
    }
  }

  ConnectionFlags flags_;
};

WALFERRY_REGISTER_COMMAND(PingCommand);

}  // namespace
}  // namespace walferry::cli
