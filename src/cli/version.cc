// cli/version.cc: `walferry version` prints walferry's version and the libpq it was built with.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "pg/connection.h"

namespace walferry::cli {
namespace {

class VersionCommand : public Command {
 public:
  std::string Name() const override { return "version"; }
  std::string Description() const override { return "Print walferry's version and the libpq version it uses"; }
  void Setup(CLI::App&) override {}
  int Run(Context& ctx) override {
    std::string libpq_text = pg::LibpqVersion();
    if (ctx.global.json) {
      std::cout << nlohmann::json{{"walferry", WALFERRY_VERSION}, {"libpq", libpq_text}}.dump() << "\n";
    } else {
      std::cout << "walferry " << WALFERRY_VERSION << " (libpq " << libpq_text << ")\n";
    }
    return 0;
  }
};

WALFERRY_REGISTER_COMMAND(VersionCommand);

}  // namespace
}  // namespace walferry::cli
