// The reactor end to end over real sockets: listeners on every worker, multishot accept and
// receive through the provided buffer ring, sends, the connection limits, and the drain.

#include "pamproxy/engine/engine.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "pamproxy/engine/ring.h"
#include "pamproxy/engine/stream.h"

namespace pamproxy::engine {
namespace {

// How often a paused receive reported it had stopped, and bytes delivered after such a report
// (must be none: kTLS is installed right after it, and any byte read before would be lost).
std::atomic<int> g_receive_stops{0};
std::atomic<int> g_bytes_after_stop{0};

// Echoes everything back; pauses receiving while a send is in flight (the back-pressure path).
class EchoService final : public Service {
 public:
  explicit EchoService(Worker& w, std::atomic<int>* closed) : worker_(w), closed_(closed) {}
  ~EchoService() override {
    for (Conn* c : conns_) delete c;
  }

  void on_accept(int fd, const net::SocketAddress& peer) override {
    auto* c = new Conn(*this, peer);
    conns_.push_back(c);
    c->stream.adopt(fd);
    c->stream.start_receiving();
  }
  void on_drain() override {
    draining_ = true;
    for (Conn* c : conns_) {
      if (c->idle()) c->stream.close();
    }
  }
  void on_abort() override {
    for (Conn* c : conns_) c->stream.close();
  }
  size_t live() const override { return conns_.size(); }

 private:
  struct Conn final : Stream::Events {
    Conn(EchoService& s, const net::SocketAddress& p) : svc(s), peer(p), stream(s.worker_, *this) {}
    bool idle() const { return pending.empty() && !stream.sending(); }
    void on_data(Stream& s, std::span<const uint8_t> bytes) override {
      if (stopped) g_bytes_after_stop.fetch_add(static_cast<int>(bytes.size()));
      pending.insert(pending.end(), bytes.begin(), bytes.end());
      if (!s.sending()) flush();
    }
    void flush() {
      if (pending.empty()) return;
      inflight.swap(pending);
      pending.clear();
      stream.pause_receiving();
      stream.send(inflight);
    }
    void on_eof(Stream& s) override { s.close(); }
    void on_error(Stream& s, int) override { s.close(); }
    void on_sent(Stream& s) override {
      inflight.clear();
      if (!pending.empty()) {
        flush();
      } else if (svc.draining_) {
        s.close();
      } else {
        stopped = false;
        s.start_receiving();
      }
    }
    void on_receive_stopped(Stream& s) override {
      EXPECT_TRUE(s.receive_stopped());
      EXPECT_FALSE(s.receiving());
      stopped = true;
      g_receive_stops.fetch_add(1);
    }
    void on_connected(Stream&, int) override {}
    void on_closed(Stream&) override {
      svc.worker_.connection_closed(peer.ip);
      svc.closed_->fetch_add(1);
      std::erase(svc.conns_, this);
      delete this;
    }
    EchoService& svc;
    net::SocketAddress peer;
    Stream stream;
    std::vector<uint8_t> pending;
    std::vector<uint8_t> inflight;
    bool stopped = false;  // on_receive_stopped came and receiving has not restarted since
  };

  Worker& worker_;
  std::atomic<int>* closed_;
  std::vector<Conn*> conns_;
  bool draining_ = false;
};

EngineOptions test_options(int threads) {
  EngineOptions o;
  o.listen.push_back(*net::SocketAddress::parse("127.0.0.1:1"));
  o.listen.back().port = 0;
  o.threads = threads;
  o.pin_threads = false;
  o.ring_entries = 256;
  o.buffer_count = 64;
  o.buffer_bytes = 4096;
  o.shutdown_drain_ms = 200;
  return o;
}

int dial(const net::SocketAddress& a) {
  sockaddr_storage ss{};
  socklen_t len = a.to_sockaddr(&ss);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&ss), len), 0) << std::strerror(errno);
  return fd;
}

// Reads until `n` bytes or EOF; returns what came.
std::string read_n(int fd, size_t n) {
  std::string out;
  char buf[65536];
  while (out.size() < n) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1) break;
    ssize_t r = ::read(fd, buf, sizeof(buf));
    if (r <= 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

bool read_eof(int fd) {
  char c;
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 10000) != 1) return false;
  return ::read(fd, &c, 1) <= 0;
}

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t w = ::write(fd, s.data() + off, s.size() - off);
    ASSERT_GT(w, 0);
    off += static_cast<size_t>(w);
  }
}

TEST(Engine, EchoesSmallAndLargePayloadsOnEveryWorker) {
  std::atomic<int> closed{0};
  auto engine = Engine::start(test_options(2), [&](Worker& w) {
    return std::make_unique<EchoService>(w, &closed);
  });
  ASSERT_TRUE(engine.ok()) << engine.status();
  ASSERT_EQ((*engine)->worker_count(), 2u);
  const auto addr = (*engine)->bound()[0];
  EXPECT_NE(addr.port, 0);

  std::vector<int> fds;
  for (int i = 0; i < 16; ++i) fds.push_back(dial(addr));
  for (int fd : fds) {
    write_all(fd, "hello");
    EXPECT_EQ(read_n(fd, 5), "hello");
  }
  // 1 MiB through 4 KiB buffers: many receives, partial sends, pauses and resumes.
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  const int stops_before = g_receive_stops.load();
  std::thread writer([&] { write_all(fds[0], big); });
  EXPECT_EQ(read_n(fds[0], big.size()), big);
  writer.join();
  // Pausing while sending stopped the receive at least once, and nothing came after a stop.
  EXPECT_GT(g_receive_stops.load(), stops_before);
  EXPECT_EQ(g_bytes_after_stop.load(), 0);

  uint64_t accepted = 0;
  for (size_t i = 0; i < (*engine)->worker_count(); ++i) {
    accepted += (*engine)->worker(i).metrics().accepted.get();
  }
  EXPECT_EQ(accepted, 16u);
  for (int fd : fds) ::close(fd);
  (*engine)->drain();
  (*engine)->join();
  EXPECT_EQ(closed.load(), 16);
  EXPECT_EQ((*engine)->limits().total(), 0);
}

TEST(Engine, RefusesOverThePerClientLimit) {
  std::atomic<int> closed{0};
  EngineOptions o = test_options(1);
  o.connections_per_client_max = 2;
  auto engine = Engine::start(o, [&](Worker& w) {
    return std::make_unique<EchoService>(w, &closed);
  });
  ASSERT_TRUE(engine.ok()) << engine.status();
  const auto addr = (*engine)->bound()[0];
  int a = dial(addr), b = dial(addr);
  write_all(a, "x");
  EXPECT_EQ(read_n(a, 1), "x");
  write_all(b, "y");
  EXPECT_EQ(read_n(b, 1), "y");
  int c = dial(addr);  // accepted by the kernel, closed by the worker
  EXPECT_TRUE(read_eof(c));
  EXPECT_EQ((*engine)->worker(0).metrics().refused_client_limit.get(), 1u);
  ::close(a);
  ::close(b);
  ::close(c);
}

TEST(Engine, DrainClosesIdleConnectionsAndStopsAccepting) {
  std::atomic<int> closed{0};
  auto engine = Engine::start(test_options(2), [&](Worker& w) {
    return std::make_unique<EchoService>(w, &closed);
  });
  ASSERT_TRUE(engine.ok()) << engine.status();
  const auto addr = (*engine)->bound()[0];
  int fd = dial(addr);
  write_all(fd, "ping");
  EXPECT_EQ(read_n(fd, 4), "ping");
  (*engine)->drain();
  EXPECT_TRUE(read_eof(fd));  // idle: closed by the drain
  (*engine)->join();
  ::close(fd);
  // The listeners are gone.
  sockaddr_storage ss{};
  socklen_t len = addr.to_sockaddr(&ss);
  int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_NE(::connect(probe, reinterpret_cast<sockaddr*>(&ss), len), 0);
  ::close(probe);
}

TEST(Engine, DrainDeadlineAbortsBusyConnections) {
  std::atomic<int> closed{0};
  auto engine = Engine::start(test_options(1), [&](Worker& w) {
    return std::make_unique<EchoService>(w, &closed);
  });
  ASSERT_TRUE(engine.ok()) << engine.status();
  int fd = dial((*engine)->bound()[0]);
  // Write without ever reading: the echo's send stalls, it stops receiving, and our own send
  // finally hits EAGAIN. From then on the connection is busy, not idle.
  std::string chunk(1 << 16, 'z');
  bool blocked = false;
  for (int i = 0; i < 100000 && !blocked; ++i) {
    ssize_t w = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      ASSERT_EQ(errno, EAGAIN);
      pollfd p{fd, POLLOUT, 0};
      blocked = ::poll(&p, 1, 300) == 0;  // still full after 300 ms: the echo is stuck
    }
  }
  ASSERT_TRUE(blocked);
  auto start = std::chrono::steady_clock::now();
  (*engine)->drain();
  (*engine)->join();  // returns only once shutdown_drain_ms aborted the busy connection
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(190));
  EXPECT_EQ(closed.load(), 1);
  ::close(fd);
}

// The ring takes only the engine's own operations: io_uring bypasses seccomp, so an operation
// the engine never submits (opening a file, a nop) must be refused by the ring itself.
// A thread has 16 registered ring slots: each ring gives its own back when it goes.
TEST(Ring, GivesItsRegisteredFdBackWhenItGoes) {
  for (int i = 0; i < 40; ++i) {
    auto ring = Ring::create(8);
    ASSERT_TRUE(ring.ok()) << ring.status();
    ASSERT_TRUE((*ring)->features().registered_ring) << "ring " << i;
  }
}

// The registered file table: a slot per socket while there are free ones, then none (the
// descriptor is used); an emptied slot is reused; operations on a slot reach the socket.
TEST(Ring, RegisteredFileSlotsAreHandedOutAndTakenBack) {
  auto ring = Ring::create(8, 2);
  ASSERT_TRUE(ring.ok()) << ring.status();
  Ring& r = **ring;
  ASSERT_EQ(r.features().fixed_files, 2u);
  int a[2], b[2], c[2];
  for (int* p : {a, b, c}) ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p), 0);
  const int slot_a = r.install_file(a[0]);
  const int slot_b = r.install_file(b[0]);
  EXPECT_EQ(slot_a, 0);
  EXPECT_EQ(slot_b, 1);
  EXPECT_EQ(r.install_file(c[0]), -1);  // full
  EXPECT_EQ(r.files_installed(), 2u);

  // A send through slot_b arrives on b's peer.
  io_uring_sqe* s = r.sqe();
  io_uring_prep_send(s, slot_b, "hi", 2, MSG_NOSIGNAL);
  s->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(s, 1);
  ASSERT_EQ(io_uring_submit(r.raw()), 1);
  io_uring_cqe* cqe = nullptr;
  ASSERT_EQ(io_uring_wait_cqe(r.raw(), &cqe), 0);
  EXPECT_EQ(cqe->res, 2);
  io_uring_cqe_seen(r.raw(), cqe);
  char got[2] = {};
  EXPECT_EQ(::recv(b[1], got, 2, 0), 2);
  EXPECT_EQ(std::string(got, 2), "hi");

  // Emptied and closed, the socket is really closed: the table kept no reference to it.
  r.remove_file(slot_a);
  ::close(a[0]);
  char byte;
  EXPECT_EQ(::recv(a[1], &byte, 1, 0), 0);
  EXPECT_EQ(r.install_file(c[0]), slot_a);
  r.remove_file(slot_b);
  r.remove_file(slot_a);
  EXPECT_EQ(r.files_installed(), 0u);
  for (int fd : {a[1], b[0], b[1], c[0], c[1]}) ::close(fd);
}

// Batched waits: after a wake-up that found completions in a bunch, a wait ends at once when
// the batch is there and otherwise gathers for the batch's time; after a wake-up that found one
// or none the wait is plain, so a lone completion is not held back and a quiet worker sleeps
// until its next completion instead of waking every batch. The batch's time is far longer here
// than in use, to stand clear of scheduling noise.
TEST(Ring, BatchedWaitsGatherCompletionsForABoundedTime) {
  auto ring = Ring::create(16);
  ASSERT_TRUE(ring.ok()) << ring.status();
  Ring& r = **ring;
  r.set_wait_batch(3, 500000);
  if (!r.features().min_wait) {
    EXPECT_FALSE(r.batching()) << "a kernel without min-wait must fall back to plain waits";
    return;
  }
  ASSERT_TRUE(r.batching());
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  ASSERT_EQ(::write(p[1], "abcdefgh", 8), 8);
  char bytes[10] = {};
  auto read_one = [&](int i) {
    io_uring_sqe* s = r.sqe();
    io_uring_prep_read(s, p[0], &bytes[i], 1, 0);
    io_uring_sqe_set_data64(s, 0);
  };
  auto waited_ms = [&] {
    const auto start = std::chrono::steady_clock::now();
    r.submit_and_wait(-1);
    const auto waited = std::chrono::steady_clock::now() - start;
    return std::chrono::duration_cast<std::chrono::milliseconds>(waited).count();
  };

  read_one(0);  // nothing dispatched yet: a plain wait, one completion ends it
  EXPECT_LT(waited_ms(), 250);
  EXPECT_EQ(r.dispatch(), 1u);
  read_one(1);  // one found last time: plain again
  read_one(2);
  EXPECT_LT(waited_ms(), 250);
  EXPECT_EQ(r.dispatch(), 2u);
  for (int i = 3; i <= 5; ++i) read_one(i);  // two found: batched; the whole batch ends it
  EXPECT_LT(waited_ms(), 250);
  EXPECT_EQ(r.dispatch(), 3u);
  read_one(6);  // two of three: handled once the batch's time has passed
  read_one(7);
  EXPECT_GE(waited_ms(), 450);
  EXPECT_EQ(r.dispatch(), 2u);
  EXPECT_EQ(std::string(bytes, 8), "abcdefgh");

  EXPECT_EQ(r.dispatch(), 0u);  // a wake-up that found nothing
  read_one(8);                  // the pipe is empty: this read waits for the late byte
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(700));  // the stimulus, not a sync
    ASSERT_EQ(::write(p[1], "i", 1), 1);
  });
  EXPECT_GE(waited_ms(), 650) << "a plain wait ends only when something arrives";
  late.join();
  EXPECT_EQ(r.dispatch(), 1u);
  EXPECT_EQ(bytes[8], 'i');
  ::close(p[0]);
  ::close(p[1]);
}

TEST(Ring, RefusesOperationsTheEngineDoesNotUse) {
  auto ring = Ring::create(8);
  ASSERT_TRUE(ring.ok()) << ring.status();
  ASSERT_TRUE((*ring)->features().restricted) << (*ring)->features().describe();
  // Debian 12's kernel (6.1) registers the ring fd; the submissions below go through it.
  EXPECT_TRUE((*ring)->features().registered_ring) << (*ring)->features().describe();
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  ASSERT_EQ(::write(pipe_fds[1], "x", 1), 1);
  char byte = 0;
  io_uring_sqe* s = (*ring)->sqe();
  io_uring_prep_read(s, pipe_fds[0], &byte, 1, 0);  // allowed: the engine reads eventfds
  io_uring_sqe_set_data64(s, 1);
  s = (*ring)->sqe();
  io_uring_prep_openat(s, AT_FDCWD, "/etc/hostname", O_RDONLY, 0);
  io_uring_sqe_set_data64(s, 2);
  s = (*ring)->sqe();
  io_uring_prep_nop(s);
  io_uring_sqe_set_data64(s, 3);
  s = (*ring)->sqe();
  io_uring_prep_read(s, pipe_fds[0], &byte, 1, 0);
  s->flags |= IOSQE_IO_LINK;  // an SQE flag the engine never sets
  io_uring_sqe_set_data64(s, 4);
  ASSERT_EQ(io_uring_submit((*ring)->raw()), 4);
  std::map<uint64_t, int> results;
  while (results.size() < 4) {
    io_uring_cqe* cqe = nullptr;
    ASSERT_EQ(io_uring_wait_cqe((*ring)->raw(), &cqe), 0);
    results[cqe->user_data] = cqe->res;
    io_uring_cqe_seen((*ring)->raw(), cqe);
  }
  EXPECT_EQ(results[1], 1);
  EXPECT_EQ(byte, 'x');
  EXPECT_EQ(results[2], -EACCES);
  EXPECT_EQ(results[3], -EACCES);
  EXPECT_EQ(results[4], -EACCES);
  // Registering anything but provided buffer rings is refused too.
  int fd = pipe_fds[0];
  EXPECT_EQ(io_uring_register_files((*ring)->raw(), &fd, 1), -EACCES);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

TEST(Engine, BindErrorIsReported) {
  int holder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)), 0);
  ASSERT_EQ(::listen(holder, 1), 0);
  socklen_t len = sizeof(sin);
  ::getsockname(holder, reinterpret_cast<sockaddr*>(&sin), &len);
  EngineOptions o = test_options(1);
  o.listen[0].port = ntohs(sin.sin_port);  // taken, without SO_REUSEPORT
  std::atomic<int> closed{0};
  auto engine = Engine::start(o, [&](Worker& w) {
    return std::make_unique<EchoService>(w, &closed);
  });
  EXPECT_FALSE(engine.ok());
  EXPECT_NE(std::string(engine.status().message()).find("bind"), std::string::npos);
  ::close(holder);
}

}  // namespace
}  // namespace pamproxy::engine
