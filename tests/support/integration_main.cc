// Entry point of every integration test binary: registers the shared source/target clusters.
#include <gtest/gtest.h>
#include <signal.h>

namespace walferry::test {
::testing::Environment* MakeClusterEnvironment();
}

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(walferry::test::MakeClusterEnvironment());
  return RUN_ALL_TESTS();
}
