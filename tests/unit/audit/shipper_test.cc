// The shipper without a collector: what it refuses at creation, and that a collector that is not
// there leaves it disconnected, counting its lag, and quick to stop. The delivery itself runs
// against a real rsyslogd in tests/integration/test_audit_ship.py.

#include "pamproxy/audit/shipper.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "audit_test_util.h"
#include "pamproxy/audit/ship_cursor.h"

namespace pamproxy::audit {
namespace {

using testing::TempDir;
using testing::write_file;

// A loopback port nobody listens on (bound, then closed).
uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

class ShipperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = dir_.sub("ca.pem");
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
        "-keyout " +
        dir_.sub("ca.key") + " -out " + ca_ +
        " -days 1 -subj /CN=test-collector-ca >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  ShipperOptions options() {
    ShipperOptions o;
    o.audit_directory = dir_.sub("audit");
    o.cursor_file = dir_.sub("cursor");
    o.address = "127.0.0.1:" + std::to_string(closed_port());
    o.tls.ca_file = ca_;
    o.node = "node-a";
    o.durable_seq = [] { return uint64_t{5}; };
    return o;
  }

  TempDir dir_;
  std::string ca_;
};

TEST_F(ShipperTest, RefusesWhatCannotWork) {
  for (const char* bad : {"nope", "host:", ":514", "h:0", "h:65536", "::1:514", "[::1:514"}) {
    ShipperOptions o = options();
    o.address = bad;
    auto s = Shipper::create(o);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.status().message().find("host:port"), std::string::npos) << s.status();
  }
  ShipperOptions o = options();
  o.app_name = "two words";
  EXPECT_FALSE(Shipper::create(o).ok());
  o = options();
  o.tls.ca_file = dir_.sub("missing.pem");
  auto s = Shipper::create(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("missing.pem"), std::string::npos) << s.status();
  o = options();
  o.tls.cert_file = ca_;
  o.tls.key_file = dir_.sub("missing.key");
  EXPECT_FALSE(Shipper::create(o).ok());
  o = options();
  o.address = "[::1]:6514";
  EXPECT_TRUE(Shipper::create(o).ok());
}

TEST_F(ShipperTest, ACollectorThatIsNotThereLeavesItDisconnectedCountingItsLag) {
  ASSERT_TRUE(store_ship_cursor(dir_.sub("cursor"), 3).ok());
  auto s = Shipper::create(options());
  ASSERT_TRUE(s.ok()) << s.status();
  (*s)->start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ShipperStats st = (*s)->stats();
  EXPECT_FALSE(st.connected);
  EXPECT_EQ(st.confirmed_seq, 2u);  // from the cursor
  EXPECT_EQ(st.lag_events, 3u);     // 3, 4 and 5 are durable and not confirmed
  EXPECT_EQ(st.connects, 0u);
  const std::string text = (*s)->render_prometheus();
  EXPECT_NE(text.find("\npamproxy_audit_ship_connected 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\npamproxy_audit_ship_lag_events 3\n"), std::string::npos) << text;
  const auto before = std::chrono::steady_clock::now();
  (*s)->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(2));
}

TEST_F(ShipperTest, AnUnreadableCursorStartsFromTheFirstLine) {
  write_file(dir_.sub("cursor"), "garbage");
  auto s = Shipper::create(options());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->stats().confirmed_seq, 0u);
  EXPECT_EQ((*s)->stats().lag_events, 5u);
}

}  // namespace
}  // namespace pamproxy::audit
