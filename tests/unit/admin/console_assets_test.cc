// The embedded console table: index.html at "/", every bundle file under /assets/ with its hash
// in the name and named by the index, strong distinct ETags.

#include "src/admin/console_assets.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace pamproxy::admin {
namespace {

TEST(ConsoleAssets, IndexFirstThenHashedBundleFiles) {
  auto assets = console_assets();
  if (!PAMPROXY_CONSOLE_BUILT) {  // -Dconsole=disabled, or no console/node_modules: no table
    EXPECT_TRUE(assets.empty());
    return;
  }
  ASSERT_FALSE(assets.empty());
  ASSERT_EQ(assets[0].path, "/");
  EXPECT_EQ(assets[0].content_type, "text/html; charset=utf-8");
  EXPECT_FALSE(assets[0].immutable);
  const std::string_view index = assets[0].body;
  std::set<std::string_view> etags;
  bool js = false;
  bool css = false;
  for (const ConsoleAsset& a : assets) {
    ASSERT_EQ(a.etag.size(), 34u) << a.path;
    EXPECT_EQ(a.etag.front(), '"');
    EXPECT_EQ(a.etag.back(), '"');
    EXPECT_TRUE(etags.insert(a.etag).second) << a.path;
    EXPECT_FALSE(a.body.empty()) << a.path;
    if (a.path == "/") continue;
    EXPECT_TRUE(a.path.starts_with("/assets/")) << a.path;
    EXPECT_TRUE(a.immutable) << a.path;
    EXPECT_NE(index.find(a.path), std::string_view::npos) << "index.html does not name " << a.path;
    js = js || a.content_type == "text/javascript; charset=utf-8";
    css = css || a.content_type == "text/css; charset=utf-8";
  }
  EXPECT_TRUE(js);
  EXPECT_TRUE(css);
  // No inline script: the only script element loads the bundle from /assets/.
  EXPECT_EQ(index.find("<script>"), std::string_view::npos);
  EXPECT_EQ(index.find("onload="), std::string_view::npos);
}

}  // namespace
}  // namespace pamproxy::admin
