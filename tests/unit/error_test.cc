#include "common/error.h"

#include <gtest/gtest.h>

namespace walferry {
namespace {

TEST(Error, RendersContextOutermostFirstWithServerFields) {
  Error e(ErrorKind::kSql, "duplicate key value violates unique constraint \"users_email_key\"");
  e.WithSqlState("23505").WithDetail("Key (email)=(a@b) already exists.");
  e.AddContext("applying to public.users");
  e.AddContext("applying txn 0/1A2B3C4");
  std::string s = e.what();
  EXPECT_EQ(s.rfind("applying txn 0/1A2B3C4: applying to public.users: duplicate key", 0), 0u) << s;
  EXPECT_NE(s.find("SQLSTATE 23505"), std::string::npos);
  EXPECT_NE(s.find("detail: Key (email)"), std::string::npos);
}

TEST(Error, WithContextWrapsForeignExceptions) {
  try {
    WithContext("loading x", []() -> int { throw std::out_of_range("boom"); });
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInternal);
    EXPECT_EQ(std::string(e.what()), "loading x: boom");
  }
}

TEST(Error, ConfigAndPreconditionErrorsExitWithTwo) {
  EXPECT_EQ(ExitCodeFor(Error(ErrorKind::kConfig, "x")), 2);
  EXPECT_EQ(ExitCodeFor(Error(ErrorKind::kPrecondition, "x")), 2);
  EXPECT_EQ(ExitCodeFor(Error(ErrorKind::kConnection, "x")), 1);
  EXPECT_EQ(ExitCodeFor(Error(ErrorKind::kCancelled, "x")), 130);
}

}  // namespace
}  // namespace walferry
