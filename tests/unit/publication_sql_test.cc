// control::CreatePublicationSql: partitioned tables through their root only where the server has the option (13+);
// PostgreSQL 12 rejects the option, so its statement must not carry it (the fallback's publication on a 12 target).
// Every table that is not partitioned is named with ONLY, so that a legacy-inheritance parent's publication never
// holds its children (planned into another set, they were streamed twice); a partitioned table never is.
#include <gtest/gtest.h>

#include "common/error.h"
#include "control/publication.h"
#include "pg/server_version.h"

namespace walferry::control {
namespace {

const std::vector<PublishedTable> kTables = {{{"public", "orders"}}, {{"Sales Dept", "Order\"Items"}}};

TEST(CreatePublicationSql, PostgresTwelveHasNoPublishViaPartitionRoot) {
  EXPECT_EQ(CreatePublicationSql("walferry_fallback_shop", kTables, pg::FeaturesOf(120020, "target"),
                                 GeneratedColumns::kNone),
            "CREATE PUBLICATION \"walferry_fallback_shop\" FOR TABLE ONLY \"public\".\"orders\", "
            "ONLY \"Sales Dept\".\"Order\"\"Items\"");
}

TEST(CreatePublicationSql, ThirteenAndLaterPublishThroughTheRoot) {
  for (int version : {130016, 140013, 150018, 160004, 170000}) {
    EXPECT_EQ(CreatePublicationSql("walferry_s1", kTables, pg::FeaturesOf(version, "target"), GeneratedColumns::kNone),
              "CREATE PUBLICATION \"walferry_s1\" FOR TABLE ONLY \"public\".\"orders\", "
              "ONLY \"Sales Dept\".\"Order\"\"Items\" WITH (publish_via_partition_root = true)")
        << version;
  }
}

TEST(CreatePublicationSql, InheritanceParentsWithOnlyPartitionedRootsWithout) {
  std::vector<PublishedTable> tables = {{{"public", "parent"}, false}, {{"public", "measurements"}, true}};
  EXPECT_EQ(CreatePublicationSql("walferry_s1", tables, pg::FeaturesOf(150018), GeneratedColumns::kNone),
            "CREATE PUBLICATION \"walferry_s1\" FOR TABLE ONLY \"public\".\"parent\", \"public\".\"measurements\" "
            "WITH (publish_via_partition_root = true)");
}

TEST(CreatePublicationSql, EighteenPublishesStoredGeneratedColumnsOnlyWhenAsked) {
  EXPECT_EQ(CreatePublicationSql("walferry_s1", kTables, pg::FeaturesOf(180004), GeneratedColumns::kNone),
            "CREATE PUBLICATION \"walferry_s1\" FOR TABLE ONLY \"public\".\"orders\", "
            "ONLY \"Sales Dept\".\"Order\"\"Items\" WITH (publish_via_partition_root = true)");
  EXPECT_EQ(CreatePublicationSql("walferry_s1", kTables, pg::FeaturesOf(180004), GeneratedColumns::kStored),
            "CREATE PUBLICATION \"walferry_s1\" FOR TABLE ONLY \"public\".\"orders\", "
            "ONLY \"Sales Dept\".\"Order\"\"Items\" WITH (publish_via_partition_root = true, "
            "publish_generated_columns = stored)");
  // Older servers reject the parameter: asking for it there is a caller's bug (their preflights refuse first).
  for (int version : {120020, 150018, 170000}) {
    EXPECT_THROW(CreatePublicationSql("walferry_s1", kTables, pg::FeaturesOf(version), GeneratedColumns::kStored),
                 Error)
        << version;
  }
}

TEST(CreatePublicationSql, RefusesNoTables) {
  EXPECT_THROW(CreatePublicationSql("walferry_s1", {}, pg::FeaturesOf(150018), GeneratedColumns::kNone), Error);
}

}  // namespace
}  // namespace walferry::control
