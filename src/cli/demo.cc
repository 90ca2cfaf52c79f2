// cli/demo.cc: `walferry demo` starts a local source and target cluster, creates a sample application database on
// the source and shows walferry working against them. The clusters are removed at the end unless --keep.
#include <chrono>
#include <iostream>
#include <thread>

#include "assess/server_facts.h"
#include "cli/command.h"
#include "common/cancel.h"
#include "common/log.h"
#include "demo/sample_db.h"
#include "testing/local_cluster.h"

namespace walferry::cli {
namespace {

class DemoCommand : public Command {
 public:
  std::string Name() const override { return "demo"; }
  std::string Description() const override {
    return "Start two local PostgreSQL clusters, create a sample database and migrate it";
  }
  void Setup(CLI::App& app) override {
    app.add_option("--scale", scale_, "Sample database size factor (1 = a few MB)")->check(CLI::Range(1, 1000));
    app.add_flag("--keep", keep_, "Keep the clusters running after the demo (prints how to reach and stop them)");
  }

  int Run(Context&) override {
    // Ctrl-C at any point stops at the next step and still removes the clusters (their destructors run).
    InstallCancelHandlers();
    auto logger = log::For("demo");
    logger->info("starting a source cluster (wal_level=logical) and a target cluster on 127.0.0.1");
    auto source = testing::LocalCluster::Create({.name = "demo-source"});
    auto target = testing::LocalCluster::Create({.name = "demo-target", .logical = false});
    ThrowIfCancelled("starting the demo clusters");
    logger->info("source: {}   target: {}", source.Uri("shop"), target.Uri("shop"));
    source.CreateDatabase("shop");
    target.CreateDatabase("shop");
    pg::Connection src = pg::Connection::Open(source.Uri("shop"), {.role = "source"});
    pg::Connection dst = pg::Connection::Open(target.Uri("shop"), {.role = "target"});
    logger->info("creating the sample application database 'shop' (scale {})", scale_);
    demo::CreateSampleDatabase(src, scale_);
    ThrowIfCancelled("creating the sample database");

    std::cout << "\n== walferry ping ==\n";
    for (auto* conn : {&src, &dst}) {
      assess::ServerFacts f = assess::GatherServerFacts(*conn);
      std::cout << conn->role() << ": PostgreSQL " << f.server_version << ", wal_level=" << f.wal_level
                << ", role " << f.role_name << (f.is_superuser ? " (superuser)" : "") << "\n";
    }
    std::cout << "\nThe full migration (assess, plan, load, cdc, validate) joins this demo as those commands land;\n"
                 "see README.md and docs/cli.md.\n";
    if (keep_) {
      std::cout << "\nClusters kept running:\n  source " << source.Uri("shop") << "  (data " << source.base_dir()
                << ")\n  target " << target.Uri("shop") << "  (data " << target.base_dir()
                << ")\nPress Ctrl-C to stop them.\n";
      while (!CancelRequested()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
      logger->info("stopping the demo clusters");
    }
    return kExitOk;
  }

 private:
  int scale_ = 1;
  bool keep_ = false;
};

WALFERRY_REGISTER_COMMAND(DemoCommand);

}  // namespace
}  // namespace walferry::cli
