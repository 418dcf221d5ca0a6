// The resolver (real c-ares) against a small authoritative DNS responder on a loopback UDP port
// 0: addresses (IPv4 first), TTL-bounded caching, coalescing of concurrent lookups of one name,
// NXDOMAIN and timeouts as distinct errors, the pending bound, inboxes per worker.

#include "pamproxy/proxy/resolver.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace pamproxy::proxy {
namespace {

// Answers A/AAAA questions from a fixed table; names not in it get NXDOMAIN, "silent.test" gets
// nothing at all. Counts the questions per name.
class DnsResponder {
 public:
  DnsResponder() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::pipe(stop_pipe_);
    thread_ = std::thread([this] { run(); });
  }
  ~DnsResponder() {
    ::write(stop_pipe_[1], "x", 1);
    thread_.join();
    ::close(fd_);
    ::close(stop_pipe_[0]);
    ::close(stop_pipe_[1]);
  }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  int questions(const std::string& name) {
    std::lock_guard lock(mu_);
    return counts_[name];
  }
  // Blocks (bounded) until `n` questions about `name` arrived.
  bool wait_questions(const std::string& name, int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return counts_[name] >= n; });
  }
  // Answers to "held.test" wait until the test releases them.
  void release_held() {
    std::lock_guard lock(mu_);
    for (auto& [bytes, to] : held_) {
      ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    }
    held_.clear();
  }

 private:
  struct Rr {
    uint16_t type;
    std::string rdata;
    uint32_t ttl;
  };
  static std::string v4(const char* s) {
    in_addr a;
    inet_pton(AF_INET, s, &a);
    return std::string(reinterpret_cast<char*>(&a), 4);
  }
  static std::string v6(const char* s) {
    in6_addr a;
    inet_pton(AF_INET6, s, &a);
    return std::string(reinterpret_cast<char*>(&a), 16);
  }
  std::vector<Rr> lookup(const std::string& name) {
    if (name == "one.test" || name == "held.test") return {{1, v4("192.0.2.1"), 60}};
    if (name == "dual.test") return {{28, v6("2001:db8::2"), 60}, {1, v4("192.0.2.2"), 60}};
    if (name == "zero-ttl.test") return {{1, v4("192.0.2.3"), 0}};
    return {};
  }
  void run() {
    for (;;) {
      pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
      ::poll(fds, 2, -1);
      if (fds[1].revents) return;
      unsigned char q[512];
      sockaddr_storage from{};
      socklen_t flen = sizeof from;
      ssize_t n = ::recvfrom(fd_, q, sizeof q, 0, reinterpret_cast<sockaddr*>(&from), &flen);
      if (n < 12) continue;
      // Question name.
      size_t p = 12;
      std::string name;
      while (p < static_cast<size_t>(n) && q[p] != 0) {
        size_t len = q[p++];
        if (!name.empty()) name += '.';
        name.append(reinterpret_cast<char*>(q + p), len);
        p += len;
      }
      p += 1;
      if (p + 4 > static_cast<size_t>(n)) continue;
      uint16_t qtype = static_cast<uint16_t>(q[p] << 8 | q[p + 1]);
      size_t question_end = p + 4;
      {
        std::lock_guard lock(mu_);
        ++counts_[name];
      }
      cv_.notify_all();
      if (name == "silent.test") continue;
      std::vector<Rr> all = lookup(name);
      bool known = !all.empty();
      std::string out(reinterpret_cast<char*>(q), question_end);
      out[2] = static_cast<char>(0x84);  // QR, AA
      out[3] = static_cast<char>(known ? 0x00 : 0x03);  // NOERROR / NXDOMAIN
      uint16_t count = 0;
      std::string answers;
      for (const Rr& rr : all) {
        if (rr.type != qtype) continue;
        ++count;
        answers += std::string("\xc0\x0c", 2);
        answers += static_cast<char>(rr.type >> 8);
        answers += static_cast<char>(rr.type & 0xff);
        answers += std::string("\x00\x01", 2);
        for (int s = 24; s >= 0; s -= 8) answers += static_cast<char>((rr.ttl >> s) & 0xff);
        answers += static_cast<char>(rr.rdata.size() >> 8);
        answers += static_cast<char>(rr.rdata.size() & 0xff);
        answers += rr.rdata;
      }
      out[4] = 0, out[5] = 1;  // QDCOUNT
      out[6] = static_cast<char>(count >> 8), out[7] = static_cast<char>(count & 0xff);
      out[8] = out[9] = out[10] = out[11] = 0;
      out += answers;
      if (name == "held.test") {
        std::lock_guard lock(mu_);
        held_.emplace_back(out, from);
        continue;
      }
      ::sendto(fd_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), flen);
    }
  }

  int fd_ = -1;
  int stop_pipe_[2];
  uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int> counts_;
  std::vector<std::pair<std::string, sockaddr_storage>> held_;
};

class ResolverTest : public ::testing::Test {
 protected:
  std::unique_ptr<Resolver> start(size_t inboxes = 1, size_t pending_max = 64) {
    ResolverOptions o;
    o.servers = {dns_.server()};
    o.inboxes = inboxes;
    o.pending_max = pending_max;
    o.query_timeout_ms = 200;
    o.tries = 1;
    auto r = Resolver::start(o);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? std::move(*r) : nullptr;
  }
  // Waits (poll on the inbox eventfd, bounded) until `n` answers arrived in `inbox`.
  std::vector<Resolver::Answer> await(Resolver& r, size_t n, size_t inbox = 0) {
    std::vector<Resolver::Answer> got;
    while (got.size() < n) {
      pollfd p{r.inbox_fd(inbox), POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) break;
      r.take_answers(inbox, &got);
    }
    return got;
  }
  DnsResponder dns_;
};

TEST_F(ResolverTest, ResolvesAndCachesWithinTtl) {
  auto r = start();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->cached("one.test").has_value());
  ASSERT_TRUE(r->submit("one.test", 0, 7));
  auto got = await(*r, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].cookie, 7u);
  ASSERT_TRUE(got[0].addresses.ok()) << got[0].addresses.status();
  ASSERT_EQ(got[0].addresses->size(), 1u);
  EXPECT_EQ((*got[0].addresses)[0].to_string(), "192.0.2.1");
  auto hit = r->cached("ONE.test.");  // case and trailing dot do not matter
  ASSERT_TRUE(hit.has_value());
  ASSERT_TRUE(hit->ok());
  EXPECT_EQ((**hit)[0].to_string(), "192.0.2.1");
  EXPECT_EQ(dns_.questions("one.test"), 2);  // A and AAAA, once
  EXPECT_EQ(r->stats().hits, 1u);
}

TEST_F(ResolverTest, Ipv4ComesFirstAndZeroTtlIsNotCached) {
  auto r = start();
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->submit("dual.test", 0, 1));
  ASSERT_TRUE(r->submit("zero-ttl.test", 0, 2));
  auto got = await(*r, 2);
  ASSERT_EQ(got.size(), 2u);
  for (auto& a : got) {
    ASSERT_TRUE(a.addresses.ok()) << a.addresses.status();
    if (a.cookie == 1) {
      ASSERT_EQ(a.addresses->size(), 2u);
      EXPECT_EQ((*a.addresses)[0].to_string(), "192.0.2.2");
      EXPECT_EQ((*a.addresses)[1].to_string(), "2001:db8::2");
    }
  }
  EXPECT_TRUE(r->cached("dual.test").has_value());
  EXPECT_FALSE(r->cached("zero-ttl.test").has_value());
}

TEST_F(ResolverTest, ConcurrentLookupsOfOneNameShareOneQuery) {
  auto r = start(2);
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->submit("held.test", 0, 1));
  ASSERT_TRUE(r->submit("held.test", 0, 2));
  ASSERT_TRUE(r->submit("held.test", 1, 3));
  ASSERT_TRUE(dns_.wait_questions("held.test", 2));  // A and AAAA asked once, all three waiting
  dns_.release_held();
  auto a = await(*r, 2, 0);
  auto b = await(*r, 1, 1);
  EXPECT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].cookie, 3u);
  EXPECT_EQ(r->stats().queries, 1u);
  EXPECT_EQ(dns_.questions("held.test"), 2);
}

TEST_F(ResolverTest, NoSuchNameAndNoAnswerAreDifferentErrors) {
  auto r = start();
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->submit("missing.test", 0, 1));
  ASSERT_TRUE(r->submit("silent.test", 0, 2));
  auto got = await(*r, 2);
  ASSERT_EQ(got.size(), 2u);
  for (auto& a : got) {
    ASSERT_FALSE(a.addresses.ok());
    if (a.cookie == 1) {
      EXPECT_EQ(a.addresses.status().code(), absl::StatusCode::kNotFound) << a.addresses.status();
    } else {
      EXPECT_EQ(a.addresses.status().code(), absl::StatusCode::kUnavailable)
          << a.addresses.status();
    }
  }
  // A failure is cached briefly: the dead name is not asked again at once.
  auto neg = r->cached("missing.test");
  ASSERT_TRUE(neg.has_value());
  EXPECT_FALSE(neg->ok());
}

TEST_F(ResolverTest, PendingBoundRefuses) {
  auto r = start(1, 2);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->submit("silent.test", 0, 1));
  EXPECT_TRUE(r->submit("silent.test", 0, 2));
  EXPECT_FALSE(r->submit("one.test", 0, 3));
  EXPECT_EQ(r->stats().refused_busy, 1u);
  await(*r, 2);  // the timeouts free the slots
  EXPECT_TRUE(r->submit("one.test", 0, 4));
  EXPECT_EQ(await(*r, 1).size(), 1u);
}

TEST(ResolverOptions, BadServerIsRefused) {
  ResolverOptions o;
  o.servers = {"not an address"};
  auto r = Resolver::start(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("upstream.dns_servers"), std::string::npos) << r.status();
}

}  // namespace
}  // namespace pamproxy::proxy
