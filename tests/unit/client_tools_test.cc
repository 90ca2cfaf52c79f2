// load/client_tools.h: which pg_dump walferry takes, on a fake tree of installed versions (shell scripts that say
// their version like the real programs).
#include "load/client_tools.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"

namespace walferry::load {
namespace {
namespace fs = std::filesystem;

class ClientTools : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "walferry-tools-XXXXXX").string();
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    root_ = templ;
  }
  void TearDown() override { fs::remove_all(root_); }

  // A fake program at dir/name that prints "name (PostgreSQL) <version>".
  std::string Fake(const fs::path& dir, const std::string& name, const std::string& version) {
    fs::create_directories(dir);
    fs::path p = dir / name;
    std::ofstream(p) << "#!/bin/sh\necho '" << name << " (PostgreSQL) " << version << " (Debian " << version
                     << "-1)'\n";
    fs::permissions(p, fs::perms::owner_all);
    return p.string();
  }

  ToolSearch Where() const {
    ToolSearch s;
    s.pg_config = "";  // the machine's own pg_config stays out of these tests
    s.versioned_root = (root_ / "lib").string();
    s.path = (root_ / "path").string();
    return s;
  }

  fs::path root_;
};

TEST_F(ClientTools, TakesTheLowestInstalledVersionNotOlderThanTheSource) {
  Fake(root_ / "lib/13/bin", "pg_dump", "13.16");
  std::string v16 = Fake(root_ / "lib/16/bin", "pg_dump", "16.4");
  std::string v17 = Fake(root_ / "lib/17/bin", "pg_dump", "17.2");
  EXPECT_EQ(FindClientProgram("pg_dump", 14, Where()), v16);
  EXPECT_EQ(FindClientProgram("pg_dump", 16, Where()), v16);
  EXPECT_EQ(FindClientProgram("pg_dump", 17, Where()), v17);
  EXPECT_EQ(ProgramMajor(v17), 17);
}

TEST_F(ClientTools, NothingNewEnoughIsAnErrorNamingWhatWasFound) {
  Fake(root_ / "lib/13/bin", "pg_dump", "13.16");
  Fake(root_ / "path", "pg_dump", "14.1");
  try {
    FindClientProgram("pg_dump", 15, Where());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("version 14, too old"), std::string::npos) << e.what();
    EXPECT_NE(e.hint().find("postgresql-client-15"), std::string::npos) << e.hint();
  }
}

// Debian 12 has pg_dump 15 only, and /bin is a link to /usr/bin: a 16+ source gets one line per program found
// (not one per directory that reaches it), the reason, and where newer client programs come from.
TEST_F(ClientTools, ASourceNewerThanEveryClientSaysWhyAndWhereNewerOnesComeFrom) {
  Fake(root_ / "lib/15/bin", "pg_dump", "15.8");
  Fake(root_ / "usr/bin", "pg_dump", "15.8");
  fs::create_directories(root_ / "path");
  fs::create_directory_symlink(root_ / "usr/bin", root_ / "path/bin");
  ToolSearch where = Where();
  where.path = (root_ / "usr/bin").string() + ":" + (root_ / "path/bin").string();
  try {
    FindClientProgram("pg_dump", 18, where);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("no pg_dump for a PostgreSQL 18 source on this machine"), std::string::npos) << what;
    EXPECT_EQ(what.find("path/bin"), std::string::npos) << "the same program listed twice: " << what;
    EXPECT_NE(e.detail().find("pg_dump refuses to dump a server of a newer major version than its own"),
              std::string::npos) << e.detail();
    EXPECT_NE(e.hint().find("postgresql-client-18"), std::string::npos) << e.hint();
    EXPECT_NE(e.hint().find("apt.postgresql.org"), std::string::npos) << e.hint();
  }
}

TEST_F(ClientTools, PathIsTheLastPlaceAndTheUsersBindirTheFirst) {
  std::string in_path = Fake(root_ / "path", "pg_restore", "15.8");
  EXPECT_EQ(FindClientProgram("pg_restore", 15, Where()), in_path);
  ToolSearch with_bindir = Where();
  with_bindir.bindir = (root_ / "mine").string();
  std::string mine = Fake(root_ / "mine", "pg_restore", "18.0");
  Fake(root_ / "lib/15/bin", "pg_restore", "15.8");
  EXPECT_EQ(FindClientProgram("pg_restore", 15, with_bindir), mine);
  // The user's choice is never silently passed over.
  EXPECT_THROW(FindClientProgram("pg_restore", 19, with_bindir), Error);
}

}  // namespace
}  // namespace walferry::load
