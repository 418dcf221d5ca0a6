#include "src/store/postgresql.h"

#include <gtest/gtest.h>

namespace pamproxy::store::sql {
namespace {

TEST(Postgresql, NumberedParametersBecomeDollars) {
  int n = 0;
  EXPECT_EQ(to_dollar_params("SELECT a FROM t WHERE ?1 = '' OR id = ?1 LIMIT ?12", &n),
            "SELECT a FROM t WHERE $1 = '' OR id = $1 LIMIT $12");
  EXPECT_EQ(n, 12);
}

TEST(Postgresql, BareParametersAreNumberedInOrder) {
  int n = 0;
  EXPECT_EQ(to_dollar_params("INSERT INTO t VALUES (?, ?, ?)", &n),
            "INSERT INTO t VALUES ($1, $2, $3)");
  EXPECT_EQ(n, 3);
}

TEST(Postgresql, QuotedTextIsLeftAlone) {
  int n = 0;
  EXPECT_EQ(to_dollar_params("SELECT '?1', \"a?\", 'it''s ?' FROM t WHERE x = ?1", &n),
            "SELECT '?1', \"a?\", 'it''s ?' FROM t WHERE x = $1");
  EXPECT_EQ(n, 1);
}

TEST(Postgresql, DescriptionDropsThePassword) {
  std::string d =
      describe_conninfo("postgresql://app:s3cret@db.example:5433/pamproxy?sslmode=verify-full");
  EXPECT_EQ(d.find("s3cret"), std::string::npos) << d;
  EXPECT_NE(d.find("host=db.example"), std::string::npos) << d;
  EXPECT_NE(d.find("sslmode=verify-full"), std::string::npos) << d;
  EXPECT_EQ(describe_conninfo("host=h password=x dbname=d").find("password"), std::string::npos);
}

}  // namespace
}  // namespace pamproxy::store::sql
