#include "pg/quote.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace walferry::pg {
namespace {

TEST(QuoteIdent, AlwaysQuotesAndDoublesEmbeddedQuotes) {
  EXPECT_EQ(QuoteIdent("users"), "\"users\"");
  EXPECT_EQ(QuoteIdent("Order\"Items"), "\"Order\"\"Items\"");
  EXPECT_EQ(QuoteIdent("Sales Dept"), "\"Sales Dept\"");
  EXPECT_EQ(QuoteIdent("tëst ☃"), "\"tëst ☃\"");
  EXPECT_THROW(QuoteIdent(std::string("a\0b", 3)), Error);
}

TEST(QuoteLiteral, DoublesQuotesAndUsesEscapeFormForBackslashes) {
  EXPECT_EQ(QuoteLiteral("it's"), "'it''s'");
  EXPECT_EQ(QuoteLiteral("a\\b"), "E'a\\\\b'");
}

TEST(TableName, ParsesQuotedAndUnquotedForms) {
  EXPECT_EQ(TableName::Parse("Users"), (TableName{"public", "users"}));
  EXPECT_EQ(TableName::Parse("app.Orders"), (TableName{"app", "orders"}));
  EXPECT_EQ(TableName::Parse("\"Sales Dept\".\"Order\"\"Items\""), (TableName{"Sales Dept", "Order\"Items"}));
  EXPECT_EQ(TableName::Parse("\"my.schema\".t"), (TableName{"my.schema", "t"}));
  for (const char* bad : {"", "a.b.c", "\"unterminated", "a.", ".b", "\"\".b", "a\"b"}) {
    EXPECT_THROW(TableName::Parse(bad), Error) << bad;
  }
}

TEST(TableName, QuotedAndDisplayFormsRoundTrip) {
  TableName t{"Sales Dept", "Order\"Items"};
  EXPECT_EQ(t.Quoted(), "\"Sales Dept\".\"Order\"\"Items\"");
  EXPECT_EQ(t.Display(), "\"Sales Dept\".\"Order\"\"Items\"");
  EXPECT_EQ(TableName::Parse(t.Display()), t);
  EXPECT_EQ((TableName{"public", "users"}).Display(), "public.users");
}

}  // namespace
}  // namespace walferry::pg
