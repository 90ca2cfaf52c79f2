#include "pg/conninfo.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>

#include "common/error.h"
#include "pg/connection.h"

namespace walferry::pg {
namespace {

TEST(RedactConninfo, HidesUriPassword) {
  EXPECT_EQ(RedactConninfo("postgresql://app:s3cret@db.example:5432/shop?sslmode=require"),
            "postgresql://app:********@db.example:5432/shop?sslmode=require");
  EXPECT_EQ(RedactConninfo("postgres://app@db/shop"), "postgres://app@db/shop");
}

TEST(RedactConninfo, HidesPasswordQueryParameter) {
  std::string r = RedactConninfo("postgresql://db/shop?user=app&password=s3cret&sslmode=verify-full");
  EXPECT_EQ(r, "postgresql://db/shop?user=app&password=********&sslmode=verify-full");
}

TEST(RedactConninfo, HidesKeyValuePasswordQuotedOrNot) {
  EXPECT_EQ(RedactConninfo("host=db password=s3cret dbname=shop"), "host=db password=******** dbname=shop");
  EXPECT_EQ(RedactConninfo("host=db password = 'a secret with spaces' dbname=shop"),
            "host=db password = ******** dbname=shop");
  EXPECT_EQ(RedactConninfo("host=db password='a\\' b' user=x"), "host=db password=******** user=x");
}

TEST(RedactConninfo, HidesPercentEncodedPasswordToo) {
  std::string r = RedactConninfo("postgresql://app:p%40ss@db/shop");
  EXPECT_EQ(r.find("p%40ss"), std::string::npos);
  EXPECT_EQ(r.find("p@ss"), std::string::npos);
}

TEST(RedactConninfo, HidesSslpasswordInEveryForm) {
  EXPECT_EQ(RedactConninfo("host=db sslkey=/k.pem sslpassword=keypass dbname=shop"),
            "host=db sslkey=/k.pem sslpassword=******** dbname=shop");
  EXPECT_EQ(RedactConninfo("postgresql://db/shop?sslpassword=keypass&sslmode=require&password=pw"),
            "postgresql://db/shop?sslpassword=********&sslmode=require&password=********");
  EXPECT_EQ(ScrubPassword("could not decrypt with keypass", "host=db sslpassword=keypass"),
            "could not decrypt with ********");
}

TEST(MaskSecretsSameLength, KeepsTheArgumentsSizeAndHidesEverySecret) {
  const std::string uri = "postgresql://app:s3cret@db/shop?sslpassword=kp&sslmode=require";
  std::string m = MaskSecretsSameLength(uri);
  EXPECT_EQ(m, "postgresql://app:******@db/shop?sslpassword=**&sslmode=require");
  EXPECT_EQ(m.size(), uri.size());
  EXPECT_EQ(MaskSecretsSameLength("--source=host=db password='a b'"), "--source=host=db password=*****");
  EXPECT_EQ(MaskSecretsSameLength("--set"), "--set");
  EXPECT_EQ(MaskSecretsSameLength("walferry.yaml"), "walferry.yaml");
  EXPECT_EQ(MaskSecretsSameLength("--table=public.orders"), "--table=public.orders");
}

TEST(ScrubPassword, RemovesThePasswordFromAnyText) {
  EXPECT_EQ(ScrubPassword("auth failed for hunter2!", "host=db password=hunter2"), "auth failed for ********!");
  EXPECT_EQ(ScrubPassword("no secret here", "host=db"), "no secret here");
}

TEST(ForChildProcess, MovesThePasswordIntoTheEnvironment) {
  ChildConnection c = ForChildProcess("postgresql://app:s3cr%27et@db.example:6432/shop?sslmode=require");
  EXPECT_EQ(c.conninfo.find("s3cr"), std::string::npos) << c.conninfo;
  EXPECT_NE(c.conninfo.find("host='db.example'"), std::string::npos) << c.conninfo;
  EXPECT_NE(c.conninfo.find("port='6432'"), std::string::npos) << c.conninfo;
  EXPECT_NE(c.conninfo.find("dbname='shop'"), std::string::npos) << c.conninfo;
  EXPECT_NE(c.conninfo.find("sslmode='require'"), std::string::npos) << c.conninfo;
  EXPECT_EQ(c.env, std::vector<std::string>{"PGPASSWORD=s3cr'et"});
}

TEST(ForChildProcess, QuotesValuesSoTheyParseBack) {
  ChildConnection c = ForChildProcess("host=h dbname='it\\'s db' user=u");
  EXPECT_NE(c.conninfo.find("dbname='it\\'s db'"), std::string::npos) << c.conninfo;
  EXPECT_TRUE(c.env.empty());
  EXPECT_THROW(ForChildProcess("host='unterminated"), Error);
}

TEST(ForChildProcess, PutsTheSslpasswordIntoAPrivateServiceFileNotOnTheCommandLine) {
  std::string path;
  {
    ChildConnection c = ForChildProcess("host=db sslkey=/k.pem sslpassword='key pass' password=pw dbname=shop");
    EXPECT_EQ(c.conninfo.find("key pass"), std::string::npos) << c.conninfo;
    EXPECT_EQ(c.conninfo.find("pw"), std::string::npos) << c.conninfo;
    EXPECT_NE(c.conninfo.find("service='walferry'"), std::string::npos) << c.conninfo;
    EXPECT_NE(c.conninfo.find("sslkey='/k.pem'"), std::string::npos) << c.conninfo;
    ASSERT_TRUE(c.secrets);
    path = c.secrets->path;
    EXPECT_NE(std::find(c.env.begin(), c.env.end(), "PGSERVICEFILE=" + path), c.env.end());
    EXPECT_NE(std::find(c.env.begin(), c.env.end(), "PGPASSWORD=pw"), c.env.end());
    struct stat st {};
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, "[walferry]\nsslpassword=key pass\n");
  }
  struct stat st {};
  EXPECT_NE(stat(path.c_str(), &st), 0) << "removed with the last ChildConnection";
  EXPECT_THROW(ForChildProcess("service=prod sslpassword=kp"), Error);
  EXPECT_FALSE(ForChildProcess("host=db password=pw").secrets);
}

TEST(WithServerSetting, AddsTheSettingAfterTheUsersOptionsAndKeepsEverythingElse) {
  std::string c = WithServerSetting("postgresql://app:pw@db.example:6432/shop?sslmode=require&options=-c%20work_mem%3D64MB",
                                    "default_transaction_read_only", "off");
  EXPECT_NE(c.find("options='-c work_mem=64MB -c default_transaction_read_only=off'"), std::string::npos) << c;
  EXPECT_NE(c.find("password='pw'"), std::string::npos) << c;
  EXPECT_NE(c.find("sslmode='require'"), std::string::npos) << c;
  EXPECT_NE(c.find("dbname='shop'"), std::string::npos) << c;
  EXPECT_EQ(RedactConninfo(c).find("pw'"), std::string::npos) << RedactConninfo(c);
  EXPECT_EQ(WithServerSetting("", "a", "b"), "options='-c a=b'");
  EXPECT_THROW(WithServerSetting("host='unterminated", "a", "b"), Error);
}

// A session keeps a name that starts with "walferry" (cutover tells walferry's sessions from the application's by
// it) and carries the name the user gave in the conninfo.
TEST(SessionName, KeepsTheUsersNameInsideWalferrysOwn) {
  EXPECT_EQ(SessionName("walferry cutover", ""), "walferry cutover");
  EXPECT_EQ(SessionName("long report", "long report"), "long report") << "the name asked for, reported back";
  EXPECT_EQ(SessionName("walferry cutover", "payroll"), "walferry cutover (payroll)");
  EXPECT_EQ(SessionName("walferry cutover", "walferry nightly"), "walferry nightly");
  const std::string name = SessionName("walferry cdc", std::string(100, 'a'));
  EXPECT_EQ(name.size(), 63u);
  EXPECT_EQ(name.rfind("walferry cdc (aaa", 0), 0u);
  EXPECT_EQ(name.back(), ')');
}

}  // namespace
}  // namespace walferry::pg
