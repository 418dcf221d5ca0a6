// The idle upstream pool over real sockets (socket pairs stand in for upstream connections: the
// pool only ever peeks at them and closes them).

#include "pamproxy/proxy/upstream_pool.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <vector>

namespace pamproxy::proxy {
namespace {

// One fake upstream connection: `ours` goes into the pool, `peer` is the upstream's end.
struct Conn {
  int ours = -1;
  int peer = -1;
  Conn() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    ours = fds[0];
    peer = fds[1];
  }
  ~Conn() { ::close(peer); }
  IdleUpstream idle() const {
    IdleUpstream c;
    c.fd = ours;
    return c;
  }
  // The pool closed our end: the peer reads EOF.
  bool closed_by_pool() const {
    pollfd p{peer, POLLIN, 0};
    if (::poll(&p, 1, 1000) != 1) return false;
    char b;
    ssize_t n = ::recv(peer, &b, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno == ECONNRESET);  // reset: it left our byte unread
  }
};

UpstreamPoolLimits limits(size_t per_host, size_t total, uint64_t idle_ms) {
  UpstreamPoolLimits l;
  l.per_host = per_host;
  l.total = total;
  l.idle_ms = idle_ms;
  return l;
}

TEST(UpstreamPool, HandsOutTheNewestOfItsHostThenNothing) {
  ProxyMetrics m;
  UpstreamPool pool(limits(8, 8, 1000), m);
  Conn a, b, other;
  pool.park("s3.amazonaws.com:443", a.idle(), 10);
  pool.park("s3.amazonaws.com:443", b.idle(), 20);
  pool.park("sts.amazonaws.com:443", other.idle(), 30);
  EXPECT_EQ(pool.size(), 3u);
  EXPECT_EQ(m.upstream_pool_idle.get(), 3u);
  auto first = pool.take("s3.amazonaws.com:443", 40);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->fd, b.ours);
  auto second = pool.take("s3.amazonaws.com:443", 40);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->fd, a.ours);
  EXPECT_FALSE(pool.take("s3.amazonaws.com:443", 40).has_value());
  EXPECT_FALSE(pool.take("ec2.amazonaws.com:443", 40).has_value());
  EXPECT_EQ(pool.size(), 1u);
  EXPECT_EQ(m.upstream_pool_reused.get(), 2u);
  EXPECT_EQ(m.upstream_pool_parked.get(), 3u);
  ::close(first->fd);
  ::close(second->fd);
}

TEST(UpstreamPool, ClosedOrTalkativePeersAreNotHandedOut) {
  ProxyMetrics m;
  UpstreamPool pool(limits(8, 8, 1000), m);
  Conn good, talkative, gone;
  pool.park("h:443", good.idle(), 0);
  pool.park("h:443", talkative.idle(), 1);
  pool.park("h:443", gone.idle(), 2);
  ASSERT_EQ(::send(talkative.peer, "x", 1, 0), 1);  // e.g. an alert while idle
  ::shutdown(gone.peer, SHUT_WR);                   // the upstream closed it
  auto c = pool.take("h:443", 3);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->fd, good.ours);
  EXPECT_TRUE(talkative.closed_by_pool());
  EXPECT_EQ(m.upstream_pool_discarded.get(), 2u);
  EXPECT_EQ(m.upstream_pool_idle.get(), 0u);
  ::close(c->fd);
}

TEST(UpstreamPool, IdleTooLongIsClosedOnTakeAndOnExpire) {
  ProxyMetrics m;
  UpstreamPool pool(limits(8, 8, 100), m);
  Conn old_a, old_b, young;
  pool.park("h:443", old_a.idle(), 0);
  pool.park("k:443", old_b.idle(), 0);
  pool.park("k:443", young.idle(), 90);
  EXPECT_FALSE(pool.take("h:443", 101).has_value());
  EXPECT_TRUE(old_a.closed_by_pool());
  pool.expire(150);
  EXPECT_TRUE(old_b.closed_by_pool());
  EXPECT_EQ(pool.size(), 1u);
  pool.expire(191);
  EXPECT_TRUE(young.closed_by_pool());
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_EQ(m.upstream_pool_discarded.get(), 3u);
  EXPECT_EQ(m.upstream_pool_idle.get(), 0u);
}

TEST(UpstreamPool, BoundsCloseTheOldestOfTheHostThenOfAll) {
  ProxyMetrics m;
  UpstreamPool pool(limits(2, 3, 1000), m);
  Conn h1, h2, h3, k1, k2;
  pool.park("h:443", h1.idle(), 1);
  pool.park("h:443", h2.idle(), 2);
  pool.park("h:443", h3.idle(), 3);  // over per_host: h1 goes
  EXPECT_TRUE(h1.closed_by_pool());
  pool.park("k:443", k1.idle(), 4);
  pool.park("k:443", k2.idle(), 5);  // over total: the oldest of all (h2) goes
  EXPECT_TRUE(h2.closed_by_pool());
  EXPECT_EQ(pool.size(), 3u);
  EXPECT_EQ(m.upstream_pool_idle.get(), 3u);
  pool.clear();
  for (Conn* c : {&h3, &k1, &k2}) EXPECT_TRUE(c->closed_by_pool());
  EXPECT_EQ(m.upstream_pool_idle.get(), 0u);
}

TEST(UpstreamPool, SmallerBoundsOnReloadCloseTheOldestAtOnce) {
  ProxyMetrics m;
  UpstreamPool pool(limits(4, 8, 1000), m);
  Conn h1, h2, h3, k1, k2;
  pool.park("h:443", h1.idle(), 1);
  pool.park("h:443", h2.idle(), 2);
  pool.park("h:443", h3.idle(), 3);
  pool.park("k:443", k1.idle(), 4);
  pool.park("k:443", k2.idle(), 5);
  pool.set_limits(limits(2, 3, 1000), 6);  // h1 over per_host, then h2 over total
  EXPECT_TRUE(h1.closed_by_pool());
  EXPECT_TRUE(h2.closed_by_pool());
  EXPECT_EQ(pool.size(), 3u);
  pool.set_limits(limits(2, 3, 2), 7);  // a shorter idle timeout: k2 (parked at 5) stays
  for (Conn* c : {&h3, &k1}) EXPECT_TRUE(c->closed_by_pool());
  EXPECT_EQ(pool.size(), 1u);
  EXPECT_EQ(m.upstream_pool_idle.get(), 1u);
  EXPECT_EQ(m.upstream_pool_discarded.get(), 4u);
  auto c = pool.take("k:443", 7);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->fd, k2.ours);
  ::close(c->fd);
}

TEST(UpstreamPool, ZeroBoundsKeepNothing) {
  ProxyMetrics m;
  UpstreamPool pool(limits(0, 1024, 1000), m);
  Conn a;
  pool.park("h:443", a.idle(), 0);
  EXPECT_TRUE(a.closed_by_pool());
  EXPECT_EQ(pool.size(), 0u);
}

}  // namespace
}  // namespace pamproxy::proxy
