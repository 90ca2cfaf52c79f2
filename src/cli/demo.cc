// cli/demo.cc: `walferry demo` runs a whole migration between two local clusters it starts itself
// (demo/demo.h). The clusters are removed at the end (also on Ctrl-C) unless --keep.
#include <iostream>

#include "cli/command.h"
#include "demo/demo.h"

namespace walferry::cli {
namespace {

class DemoCommand : public Command {
 public:
  std::string Name() const override { return "demo"; }
  std::string Description() const override {
    return "Start two local PostgreSQL clusters, create a sample shop database and migrate it while it is written to";
  }
  void Setup(CLI::App& app) override {
    app.add_option("--scale", options_.scale, "Sample database size factor (1 = about 2 MB)")
        ->capture_default_str()->check(CLI::Range(1, 1000));
    app.add_option("--writes-per-second", options_.writer_per_second, "The application writer's transaction rate")
        ->capture_default_str()->check(CLI::Range(1, 10000));
    app.add_option("--cdc-seconds", options_.cdc_seconds, "How long CDC runs beside the writer")
        ->capture_default_str()->check(CLI::Range(1, 3600));
    app.add_flag("--keep", options_.keep, "Keep the clusters running after the demo, until Ctrl-C");
  }
  int Run(Context&) override { return demo::RunDemo(options_, std::cout); }

 private:
  demo::DemoOptions options_;
};

WALFERRY_REGISTER_COMMAND(DemoCommand);

}  // namespace
}  // namespace walferry::cli
