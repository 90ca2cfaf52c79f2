// control::CreatePublicationSql: partitioned tables through their root only where the server has the option (13+);
// PostgreSQL 12 rejects the option, so its statement must not carry it (the fallback's publication on a 12 target).
#include <gtest/gtest.h>

#include "common/error.h"
#include "control/publication.h"
#include "pg/server_version.h"

namespace walferry::control {
namespace {

const std::vector<pg::TableName> kTables = {{"public", "orders"}, {"Sales Dept", "Order\"Items"}};

TEST(CreatePublicationSql, PostgresTwelveHasNoPublishViaPartitionRoot) {
  EXPECT_EQ(CreatePublicationSql("walferry_fallback_shop", kTables, pg::FeaturesOf(120020, "target")),
            "CREATE PUBLICATION \"walferry_fallback_shop\" FOR TABLE \"public\".\"orders\", "
            "\"Sales Dept\".\"Order\"\"Items\"");
}

TEST(CreatePublicationSql, ThirteenAndLaterPublishThroughTheRoot) {
  for (int version : {130016, 140013, 150018, 160004, 170000}) {
    EXPECT_EQ(CreatePublicationSql("walferry_s1", kTables, pg::FeaturesOf(version, "target")),
              "CREATE PUBLICATION \"walferry_s1\" FOR TABLE \"public\".\"orders\", \"Sales Dept\".\"Order\"\"Items\" "
              "WITH (publish_via_partition_root = true)")
        << version;
  }
}

TEST(CreatePublicationSql, RefusesNoTables) {
  EXPECT_THROW(CreatePublicationSql("walferry_s1", {}, pg::FeaturesOf(150018)), Error);
}

}  // namespace
}  // namespace walferry::control
