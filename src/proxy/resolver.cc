// The resolver thread: c-ares driven by poll() on its own sockets plus a control eventfd, a
// bounded LRU cache, coalesced lookups, and per-worker inboxes (see resolver.h).

#include "pamproxy/proxy/resolver.h"

#include <ares.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <list>
#include <mutex>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pamproxy/base/check.h"
#include "pamproxy/base/thread_name.h"

namespace pamproxy::proxy {
namespace {

int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void signal_fd(int fd) {
  uint64_t one = 1;
  ssize_t r = ::write(fd, &one, sizeof one);
  (void)r;  // EAGAIN: the counter is already non-zero, the reader wakes anyway
}

void drain_fd(int fd) {
  uint64_t v;
  ssize_t r = ::read(fd, &v, sizeof v);
  (void)r;
}

// Names are compared as DNS does: case-insensitively. A trailing dot is the same name.
std::string cache_key(std::string_view host) {
  std::string k(host);
  if (!k.empty() && k.back() == '.') k.pop_back();
  std::transform(k.begin(), k.end(), k.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return k;
}

}  // namespace

struct Resolver::Impl {
  ResolverOptions options;
  std::atomic<int64_t> ttl_max_s{300};  // options.ttl_max_s, changed by a reload
  ares_channel channel = nullptr;
  int control_fd = -1;
  std::thread thread;

  struct CacheEntry {
    absl::StatusOr<Addresses> value;
    int64_t expires_ms = 0;
    std::list<std::string>::iterator lru;
  };
  struct Waiter {
    size_t inbox;
    uint64_t cookie;
  };
  struct Inbox {
    int fd = -1;
    std::vector<Answer> answers;
  };

  mutable std::mutex mu;  // guards everything below
  absl::flat_hash_map<std::string, CacheEntry> cache;
  std::list<std::string> lru;  // front: most recently used
  std::deque<std::string> to_send;
  absl::flat_hash_map<std::string, std::vector<Waiter>> waiting;  // queued or in flight
  size_t pending = 0;  // waiters in `waiting`
  std::vector<Inbox> inboxes;
  bool stop = false;
  Stats stats;

  ~Impl() {
    if (channel != nullptr) ares_destroy(channel);
    if (control_fd >= 0) ::close(control_fd);
    for (Inbox& in : inboxes) {
      if (in.fd >= 0) ::close(in.fd);
    }
  }

  // Call with mu held.
  void cache_put(const std::string& key, absl::StatusOr<Addresses> value, int64_t ttl_ms) {
    if (ttl_ms <= 0 || options.cache_entries == 0) return;
    auto it = cache.find(key);
    if (it != cache.end()) {
      lru.erase(it->second.lru);
      cache.erase(it);
    }
    while (cache.size() >= options.cache_entries && !lru.empty()) {
      cache.erase(lru.back());
      lru.pop_back();
    }
    lru.push_front(key);
    cache.emplace(key, CacheEntry{std::move(value), mono_ms() + ttl_ms, lru.begin()});
  }

  struct Query {
    Impl* impl;
    std::string key;
  };

  static void on_done(void* arg, int status, int /*timeouts*/, ares_addrinfo* result) {
    std::unique_ptr<Query> q(static_cast<Query*>(arg));
    Impl& impl = *q->impl;
    if (status == ARES_EDESTRUCTION) {  // shutting down: nobody will read the answer
      if (result != nullptr) ares_freeaddrinfo(result);
      return;
    }
    absl::StatusOr<Addresses> value;
    int64_t ttl_s = impl.options.negative_ttl_s;
    if (status == ARES_SUCCESS && result != nullptr) {
      Addresses v4, v6;
      int64_t min_ttl = impl.ttl_max_s.load(std::memory_order_relaxed);
      for (ares_addrinfo_node* n = result->nodes; n != nullptr; n = n->ai_next) {
        if (n->ai_addr == nullptr) continue;
        if (n->ai_family != AF_INET && n->ai_family != AF_INET6) continue;
        net::IpAddress ip = net::IpAddress::from_sockaddr(n->ai_addr);
        Addresses& list = ip.family == AF_INET ? v4 : v6;
        if (std::find(list.begin(), list.end(), ip) == list.end()) list.push_back(ip);
        min_ttl = std::min<int64_t>(min_ttl, std::max(n->ai_ttl, 0));
      }
      // IPv4 first: the proxy connects to the first permitted address.
      v4.insert(v4.end(), v6.begin(), v6.end());
      if (v4.empty()) {
        value = absl::NotFoundError(absl::StrCat(q->key, " has no IPv4 or IPv6 address"));
      } else {
        value = std::move(v4);
        ttl_s = min_ttl;
      }
    } else if (status == ARES_ENOTFOUND || status == ARES_ENODATA || status == ARES_ENONAME) {
      value = absl::NotFoundError(absl::StrCat(q->key, ": no such name (", ares_strerror(status),
                                               ")"));
    } else {
      value = absl::UnavailableError(
          absl::StrCat(q->key, ": DNS lookup failed (", ares_strerror(status), ")"));
    }
    if (result != nullptr) ares_freeaddrinfo(result);

    std::vector<int> to_signal;
    {
      std::lock_guard lock(impl.mu);
      if (!value.ok()) ++impl.stats.failures;
      impl.cache_put(q->key, value, ttl_s * 1000);
      auto it = impl.waiting.find(q->key);
      if (it != impl.waiting.end()) {
        for (const Waiter& w : it->second) {
          impl.inboxes[w.inbox].answers.push_back(Answer{w.cookie, value});
          to_signal.push_back(impl.inboxes[w.inbox].fd);
        }
        impl.pending -= it->second.size();
        impl.waiting.erase(it);
      }
    }
    std::sort(to_signal.begin(), to_signal.end());
    to_signal.erase(std::unique(to_signal.begin(), to_signal.end()), to_signal.end());
    for (int fd : to_signal) signal_fd(fd);
  }

  void send_queued() {
    std::deque<std::string> batch;
    {
      std::lock_guard lock(mu);
      batch.swap(to_send);
    }
    for (std::string& key : batch) {
      ares_addrinfo_hints hints{};
      hints.ai_family = AF_UNSPEC;
      hints.ai_flags = ARES_AI_NOSORT;
      auto* q = new Query{this, std::move(key)};
      // May call on_done before returning (hosts file, bad name): it takes ownership either way.
      ares_getaddrinfo(channel, q->key.c_str(), nullptr, &hints, &Impl::on_done, q);
    }
  }

  void run() {
    for (;;) {
      {
        std::lock_guard lock(mu);
        if (stop) return;
      }
      send_queued();
      ares_socket_t socks[ARES_GETSOCK_MAXNUM];
      int bits = ares_getsock(channel, socks, ARES_GETSOCK_MAXNUM);
      pollfd fds[1 + ARES_GETSOCK_MAXNUM];
      nfds_t n = 0;
      fds[n++] = {control_fd, POLLIN, 0};
      for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
        short ev = 0;
        if (ARES_GETSOCK_READABLE(bits, i)) ev |= POLLIN;
        if (ARES_GETSOCK_WRITABLE(bits, i)) ev |= POLLOUT;
        if (ev != 0) fds[n++] = {socks[i], ev, 0};
      }
      timeval tv{};
      timeval* t = ares_timeout(channel, nullptr, &tv);
      int timeout_ms = t == nullptr ? -1 : static_cast<int>(tv.tv_sec * 1000 + tv.tv_usec / 1000);
      int r = ::poll(fds, n, timeout_ms);
      if (r < 0) continue;  // EINTR
      if (fds[0].revents & POLLIN) drain_fd(control_fd);
      bool any = false;
      for (nfds_t i = 1; i < n; ++i) {
        if (fds[i].revents == 0) continue;
        any = true;
        bool rd = fds[i].revents & (POLLIN | POLLERR | POLLHUP);
        bool wr = fds[i].revents & POLLOUT;
        ares_process_fd(channel, rd ? fds[i].fd : ARES_SOCKET_BAD,
                        wr ? fds[i].fd : ARES_SOCKET_BAD);
      }
      if (!any) ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
    }
  }
};

Resolver::Resolver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

absl::StatusOr<std::unique_ptr<Resolver>> Resolver::start(const ResolverOptions& options) {
  static const int library = ares_library_init(ARES_LIB_INIT_ALL);
  if (library != ARES_SUCCESS) {
    return absl::InternalError(absl::StrCat("c-ares: ", ares_strerror(library)));
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->ttl_max_s.store(options.ttl_max_s, std::memory_order_relaxed);
  impl->control_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl->control_fd < 0) return absl::InternalError("eventfd failed");
  for (size_t i = 0; i < std::max<size_t>(options.inboxes, 1); ++i) {
    Impl::Inbox in;
    in.fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (in.fd < 0) return absl::InternalError("eventfd failed");
    impl->inboxes.push_back(std::move(in));
  }
  ares_options ao{};
  ao.timeout = static_cast<int>(options.query_timeout_ms);
  ao.tries = options.tries;
  int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  int rc = ares_init_options(&impl->channel, &ao, mask);
  if (rc != ARES_SUCCESS) {
    impl->channel = nullptr;
    return absl::InternalError(absl::StrCat("c-ares init: ", ares_strerror(rc)));
  }
  if (!options.servers.empty()) {
    std::string csv = absl::StrJoin(options.servers, ",");
    rc = ares_set_servers_ports_csv(impl->channel, csv.c_str());
    if (rc != ARES_SUCCESS) {
      return absl::InvalidArgumentError(
          absl::StrCat("upstream.dns_servers: ", ares_strerror(rc), " (\"", csv, "\")"));
    }
  }
  Impl* raw = impl.get();
  raw->thread = std::thread([raw] { raw->run(); });
  name_thread(raw->thread, "pamproxy-dns");
  return std::unique_ptr<Resolver>(new Resolver(std::move(impl)));
}

Resolver::~Resolver() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stop = true;
  }
  signal_fd(impl_->control_fd);
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::optional<absl::StatusOr<Addresses>> Resolver::cached(std::string_view host) {
  std::string key = cache_key(host);
  std::lock_guard lock(impl_->mu);
  auto it = impl_->cache.find(key);
  if (it == impl_->cache.end() || it->second.expires_ms <= mono_ms()) {
    ++impl_->stats.misses;
    return std::nullopt;
  }
  ++impl_->stats.hits;
  impl_->lru.splice(impl_->lru.begin(), impl_->lru, it->second.lru);
  return it->second.value;
}

bool Resolver::submit(std::string_view host, size_t inbox, uint64_t cookie) {
  PAMPROXY_CHECK(inbox < impl_->inboxes.size());
  std::string key = cache_key(host);
  bool wake = false;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->pending >= impl_->options.pending_max) {
      ++impl_->stats.refused_busy;
      return false;
    }
    auto [it, inserted] = impl_->waiting.try_emplace(key);
    it->second.push_back({inbox, cookie});
    ++impl_->pending;
    if (inserted) {  // first waiter: one query on the wire for all of them
      impl_->to_send.push_back(std::move(key));
      ++impl_->stats.queries;
      wake = true;
    }
  }
  if (wake) signal_fd(impl_->control_fd);
  return true;
}

void Resolver::set_ttl_max_s(int64_t ttl_max_s) {
  impl_->ttl_max_s.store(ttl_max_s, std::memory_order_relaxed);
}

int Resolver::inbox_fd(size_t inbox) const {
  PAMPROXY_CHECK(inbox < impl_->inboxes.size());
  return impl_->inboxes[inbox].fd;
}

void Resolver::take_answers(size_t inbox, std::vector<Answer>* out) {
  PAMPROXY_CHECK(inbox < impl_->inboxes.size());
  drain_fd(impl_->inboxes[inbox].fd);
  std::lock_guard lock(impl_->mu);
  auto& answers = impl_->inboxes[inbox].answers;
  for (Answer& a : answers) out->push_back(std::move(a));
  answers.clear();
}

Resolver::Stats Resolver::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

}  // namespace pamproxy::proxy
