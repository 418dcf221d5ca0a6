// The request gate on its own, as Envoy tests its connection manager: a fake stage that forwards,
// rewrites, denies or asks for the body; a fake tunnel (GateHost) that takes what the gate sends
// upstream; the client's bytes fed in every split (each cut point, and one byte at a time), each
// piece followed by relays until nothing moves, as the tunnel's pump does. Assertions are on the
// bytes that went upstream, the stage's calls, the answers given and the audit events written.

#include "src/proxy/request_gate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "pamproxy/audit/ring.h"
#include "pamproxy/engine/ring.h"
#include "pamproxy/sigv4/key_cache.h"
#include "tests/unit/sigv4/aws_examples.h"

namespace pamproxy::proxy {
namespace {

constexpr std::string_view kHost = "examplebucket.s3.amazonaws.com";
constexpr std::string_view kDenial = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";

std::string get(std::string_view path) {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: " + std::string(kHost) + "\r\n\r\n";
}

std::string put(std::string_view path, std::string_view body, std::string_view extra = "") {
  return "PUT " + std::string(path) + " HTTP/1.1\r\nHost: " + std::string(kHost) +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + std::string(extra) +
         "\r\n" + std::string(body);
}

std::string chunked_post(std::string_view path, const std::vector<std::string>& chunks) {
  std::string s = "POST " + std::string(path) + " HTTP/1.1\r\nHost: " + std::string(kHost) +
                  "\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const std::string& c : chunks) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx", c.size());
    s += std::string(size) + ";ext=1\r\n" + c + "\r\n";
  }
  return s + "0\r\n\r\n";
}

std::string path_of(std::string_view head) {
  size_t a = head.find(' ') + 1;
  return std::string(head.substr(a, head.find(' ', a) - a));
}

struct FakeStage final : Stage {
  std::function<StageDecision(const StageRequest&)> decide;
  std::vector<std::string> heads;   // as the gate gave them
  std::vector<std::string> bodies;  // the bodies given on a second call
  std::vector<uint64_t> numbers;    // the request numbers given with them
  audit::Event event;               // what the decisions carry when `audit` is set
  bool audit = false;

  StageDecision on_request(const StageRequest& r) override {
    heads.emplace_back(r.head_bytes);
    if (r.body_given) {
      bodies.emplace_back(r.body);
      numbers.push_back(r.request_number);
    }
    StageDecision d = decide ? decide(r) : StageDecision{};
    if (audit && d.kind != StageDecision::Kind::kNeedBody) {
      event.clear();
      event.type = d.kind == StageDecision::Kind::kDeny ? audit::EventType::kRequestDenied
                                                        : audit::EventType::kRequestForwarded;
      event.request_id.assign(path_of(r.head_bytes));
      d.event = &event;
    }
    return d;
  }
};

// The tunnel as the gate sees it.
struct FakeHost final : GateHost {
  uint64_t now = 1000;
  std::string upstream;    // every byte sent upstream, in order
  size_t room = SIZE_MAX;  // what the upstream leg takes per send_upstream()
  bool finished = false;   // refused or answered: the tunnel is finishing
  int status = 0;          // refuse()
  std::string code;        // refuse()
  std::string answer;      // refuse(): the message; answer_and_finish(): the response
  Cause cause = Cause::kInternal;
  int request_sends = 0;
  int released = 0;
  int grown = 0;
  uint64_t audit_timer_ms = 0;

  uint64_t now_ms() const override { return now; }
  bool relaying() const override { return !finished; }
  void refuse(int s, std::string_view c, std::string message, Cause why) override {
    finished = true;
    status = s;
    code = c;
    answer = std::move(message);
    cause = why;
  }
  void answer_and_finish(std::string_view response, Cause why) override {
    finished = true;
    answer = response;
    cause = why;
  }
  void send_upstream(SealSource& source) override {
    for (;;) {
      std::span<const uint8_t> b = source.next();
      size_t n = std::min(b.size(), room);
      if (n == 0) return;
      upstream.append(reinterpret_cast<const char*>(b.data()), n);
      source.took(n);
    }
  }
  void request_sent() override { ++request_sends; }
  void arm_audit_timer(uint64_t ms) override { audit_timer_ms = ms; }
  void request_released() override { ++released; }
  void window_grew() override { ++grown; }
};

// One gate with its windows, as a tunnel holds it.
class Rig {
 public:
  Rig(AuditGate& audit, FakeStage& stage, uint64_t body_bytes_max = 1 << 20) : stage_(stage) {
    settings_.limits.buffered_body_bytes_max = body_bytes_max;
    target_.host = std::string(kHost);
    target_.port = 443;
    client_.port = 40000;
    c2u_mem_.resize(body_bytes_max + Plain::kBytes);
    u2c_mem_.resize(Plain::kBytes);
    c2u.buf = c2u_mem_.data();
    c2u.capacity = c2u_mem_.size();
    u2c.buf = u2c_mem_.data();
    gate = std::make_unique<RequestGate>(
        host, GateContext{settings_, stage, audit, target_, client_, 7}, c2u, u2c);
  }

  // The client's bytes, as they fit in c2u, each piece followed by relays until nothing moves.
  // False when the bytes could not all be taken (the gate waits for something else).
  bool feed(std::string_view bytes) {
    while (!bytes.empty() && !host.finished) {
      std::span<uint8_t> room = c2u.free_space();
      size_t n = std::min(room.size(), bytes.size());
      std::memcpy(room.data(), bytes.data(), n);
      c2u.end += n;
      bytes.remove_prefix(n);
      if (!pump() && n == 0) return false;
    }
    return true;
  }
  // Relays until nothing moves; true when something did.
  bool pump() {
    bool moved = false;
    for (int i = 0; i < 100000 && !host.finished; ++i) {
      const size_t begin = c2u.begin, end = c2u.end, sent = host.upstream.size();
      const size_t calls = stage_.heads.size();
      if (!gate->relay()) return true;
      if (c2u.begin == begin && c2u.end == end && host.upstream.size() == sent &&
          stage_.heads.size() == calls) {
        return moved;
      }
      moved = true;
    }
    return moved;
  }
  // The upstream's plaintext, as the upstream leg decrypts it into u2c; the client leg takes it.
  void respond(std::string_view bytes) {
    std::span<uint8_t> room = u2c.free_space();
    ASSERT_GE(room.size(), bytes.size());
    std::memcpy(room.data(), bytes.data(), bytes.size());
    u2c.end += bytes.size();
    gate->observe_response(bytes.size());
    u2c.begin = u2c.end;
  }
  std::string u2c_text() const {
    return {reinterpret_cast<const char*>(u2c.data().data()), u2c.used()};
  }

  FakeHost host;
  Plain c2u;
  Plain u2c;
  std::unique_ptr<RequestGate> gate;

 private:
  FakeStage& stage_;
  ProxySettings settings_;
  ConnectTarget target_;
  net::SocketAddress client_;
  std::vector<uint8_t> c2u_mem_;
  std::vector<uint8_t> u2c_mem_;
};

class RequestGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = engine::Ring::create(16);
    ASSERT_TRUE(r.ok()) << r.status();
    ring_ = std::move(*r);
    off_ = std::make_unique<AuditGate>(*ring_, nullptr, false);
  }
  // An audit gate over a ring with no writer: the test reads what was published.
  AuditGate& audit_on(bool before_forward) {
    audit_ring_ = std::make_unique<audit::Ring>(64, &wake_, &fault_);
    on_ = std::make_unique<AuditGate>(*ring_, audit_ring_.get(), before_forward);
    return *on_;
  }
  // The events published so far (consumed, as the writer would).
  std::vector<audit::Event> published() {
    std::vector<audit::Event> out;
    for (size_t i = 0; i < audit_ring_->available(); ++i) out.push_back(audit_ring_->at(i));
    audit_ring_->release(audit_ring_->available());
    return out;
  }
  // Runs the engine ring until `done()` or 5 s (the audit gate's callbacks come from there).
  template <typename F>
  void run_until(F done) {
    for (int i = 0; i < 500 && !done(); ++i) {
      ring_->submit_and_wait(10);
      ring_->dispatch();
    }
  }

  // Feeds `input` cut at every point (two pieces), then one byte at a time; `check` sees each
  // finished rig with a label naming the split.
  template <typename Check>
  void every_split(FakeStage& stage, const std::string& input, const std::function<void()>& reset,
                   Check check) {
    for (size_t cut = 0; cut <= input.size(); ++cut) {
      reset();
      Rig rig(*off_, stage);
      rig.feed(std::string_view(input).substr(0, cut));
      rig.feed(std::string_view(input).substr(cut));
      check(rig, "cut at " + std::to_string(cut));
    }
    reset();
    Rig rig(*off_, stage);
    for (char c : input) rig.feed(std::string_view(&c, 1));
    check(rig, "one byte at a time");
  }

  std::unique_ptr<engine::Ring> ring_;
  std::unique_ptr<AuditGate> off_;
  audit::WriterWake wake_;
  std::atomic<uint32_t> fault_{0};
  std::unique_ptr<audit::Ring> audit_ring_;
  std::unique_ptr<AuditGate> on_;
};

TEST_F(RequestGateTest, PipelinedRequestsGoUpstreamAsFramedInAnySplit) {
  const std::string a = get("/a");
  const std::string b = put("/b", "hello, world");
  const std::string c = chunked_post("/c", {"abc", std::string(300, 'x'), "d"});
  const std::string d = get("/d");
  const std::string input = a + b + c + d;
  FakeStage stage;
  every_split(
      stage, input, [&] { stage.heads.clear(); },
      [&](Rig& rig, const std::string& split) {
        EXPECT_EQ(rig.host.upstream, input) << split;
        ASSERT_EQ(stage.heads.size(), 4u) << split;
        EXPECT_EQ(stage.heads[0], a) << split;
        EXPECT_EQ(stage.heads[1], b.substr(0, b.find("\r\n\r\n") + 4)) << split;
        EXPECT_EQ(stage.heads[2], c.substr(0, c.find("\r\n\r\n") + 4)) << split;
        EXPECT_EQ(stage.heads[3], d) << split;
        EXPECT_EQ(rig.gate->requests(), 4u) << split;
        EXPECT_TRUE(rig.gate->idle()) << split;
        EXPECT_FALSE(rig.host.finished) << split;
      });
}

TEST_F(RequestGateTest, RewrittenHeadsReplaceTheClientsAndBodiesFollowThem) {
  // The stage re-signs: what goes upstream is its head, then the body as the client framed it.
  auto rewrite = [](std::string_view head) {
    std::string h(head);
    h.insert(h.find("\r\n") + 2, "X-Signed-By: gate-test\r\n");
    return h;
  };
  const std::string a = put("/a", "0123456789");
  const std::string b = chunked_post("/b", {"xyz"});
  const size_t a_head = a.find("\r\n\r\n") + 4;
  const size_t b_head = b.find("\r\n\r\n") + 4;
  const std::string expected = rewrite(a.substr(0, a_head)) + a.substr(a_head) +
                               rewrite(b.substr(0, b_head)) + b.substr(b_head);
  FakeStage stage;
  stage.decide = [&](const StageRequest& r) {
    StageDecision d;
    d.bytes = rewrite(r.head_bytes);
    return d;
  };
  every_split(
      stage, a + b, [&] { stage.heads.clear(); },
      [&](Rig& rig, const std::string& split) {
        EXPECT_EQ(rig.host.upstream, expected) << split;
        EXPECT_EQ(stage.heads.size(), 2u) << split;
      });
}

TEST_F(RequestGateTest, ADenialInAPipelineEndsItAndNothingAfterItGoesUpstream) {
  const std::string first = put("/first", "0123456789");
  const std::string input = first + get("/deny") + put("/after", "must not leave") + get("/last");
  FakeStage stage;
  stage.decide = [](const StageRequest& r) {
    StageDecision d;
    if (path_of(r.head_bytes) == "/deny") {
      d.kind = StageDecision::Kind::kDeny;
      d.bytes = std::string(kDenial);
    }
    return d;
  };
  every_split(
      stage, input, [&] { stage.heads.clear(); },
      [&](Rig& rig, const std::string& split) {
        EXPECT_EQ(rig.host.upstream, first) << split;
        EXPECT_TRUE(rig.host.finished) << split;
        EXPECT_EQ(rig.host.answer, kDenial) << split;
        EXPECT_EQ(rig.host.cause, Cause::kDenied) << split;
        ASSERT_EQ(stage.heads.size(), 2u) << split;
        EXPECT_EQ(path_of(stage.heads[1]), "/deny") << split;
      });
}

TEST_F(RequestGateTest, DecisionsAndDenialsAreAudited) {
  FakeStage stage;
  stage.audit = true;
  stage.decide = [](const StageRequest& r) {
    StageDecision d;
    if (path_of(r.head_bytes) == "/deny") {
      d.kind = StageDecision::Kind::kDeny;
      d.bytes = std::string(kDenial);
    }
    return d;
  };
  Rig rig(audit_on(false), stage);
  rig.feed(get("/ok") + get("/deny"));
  std::vector<audit::Event> events = published();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, audit::EventType::kRequestForwarded);
  EXPECT_EQ(events[0].request_id.view(), "/ok");
  EXPECT_EQ(events[1].type, audit::EventType::kRequestDenied);
  EXPECT_EQ(events[1].request_id.view(), "/deny");
  EXPECT_EQ(rig.host.upstream, get("/ok"));
}

TEST_F(RequestGateTest, TheNextHeadWaitsUntilTheRequestBeforeItHasGoneUpstream) {
  FakeStage stage;
  Rig rig(*off_, stage);
  rig.host.room = 0;  // the upstream leg takes nothing for now
  const std::string input = put("/a", std::string(1000, 'a')) + get("/b");
  rig.feed(input);
  EXPECT_EQ(stage.heads.size(), 1u);  // /b is not even parsed
  EXPECT_EQ(rig.host.upstream, "");
  rig.host.room = 100;  // a slow upstream: a little at a time
  rig.pump();
  EXPECT_EQ(rig.host.upstream, input);
  EXPECT_EQ(stage.heads.size(), 2u);
}

TEST_F(RequestGateTest, ABodyThatStopsShortGoesAsItComesAndTheNextHeadWaitsForItsEnd) {
  // Content-Length 10 with 4 bytes so far: they go upstream at once, the gate stays in the body,
  // and the bytes that follow belong to it until its 10 bytes are complete; only then is the
  // next head read.
  FakeStage stage;
  Rig rig(*off_, stage);
  const std::string head =
      "PUT /short HTTP/1.1\r\nHost: " + std::string(kHost) + "\r\nContent-Length: 10\r\n\r\n";
  rig.feed(head + "abcd");
  EXPECT_EQ(rig.host.upstream, head + "abcd");
  EXPECT_FALSE(rig.gate->idle());
  EXPECT_FALSE(rig.gate->upstream_reusable());  // a body is under way
  rig.feed("efghij" + get("/next").substr(0, 10));
  EXPECT_EQ(stage.heads.size(), 1u);
  EXPECT_EQ(rig.host.upstream, head + "abcdefghij");
  rig.feed(get("/next").substr(10));
  EXPECT_EQ(stage.heads.size(), 2u);
  EXPECT_EQ(rig.host.upstream, head + "abcdefghij" + get("/next"));
  EXPECT_TRUE(rig.gate->idle());
}

TEST_F(RequestGateTest, ADenialSaysWhetherTheClientIsStillSendingItsBody) {
  FakeStage stage;
  stage.decide = [](const StageRequest&) {
    StageDecision d;
    d.kind = StageDecision::Kind::kDeny;
    d.bytes = std::string(kDenial);
    return d;
  };
  const std::string body(5000, 'b');
  const std::string whole = put("/big", body);
  const size_t head = whole.size() - body.size();
  for (size_t cut : {head, head + 1, whole.size() - 1}) {
    Rig rig(*off_, stage);
    rig.feed(std::string_view(whole).substr(0, cut));
    EXPECT_TRUE(rig.host.finished) << cut;
    EXPECT_TRUE(rig.gate->body_unfinished()) << cut;
  }
  {
    Rig rig(*off_, stage);
    rig.feed(whole);
    EXPECT_TRUE(rig.host.finished);
    EXPECT_FALSE(rig.gate->body_unfinished());  // all of it came: nothing more to wait for
  }
  {
    Rig rig(*off_, stage);
    rig.feed(get("/no-body"));
    EXPECT_FALSE(rig.gate->body_unfinished());
  }
  {
    Rig rig(*off_, stage);
    rig.feed("POST /c HTTP/1.1\r\nHost: " + std::string(kHost) +
             "\r\nTransfer-Encoding: chunked\r\n\r\n");
    EXPECT_TRUE(rig.gate->body_unfinished());  // a chunked body's end is not known
  }
}

TEST_F(RequestGateTest, AHeadRefusedBeforeItWasWholeHasNoBodyToWaitFor) {
  FakeStage stage;
  Rig rig(*off_, stage);
  rig.feed("PUT / HTTP/1.1\r\nHost: " + std::string(kHost) +
           "\r\nContent-Length: 100000\r\nX-Big: " + std::string(70000, 'b'));
  EXPECT_EQ(rig.host.status, 431);
  EXPECT_FALSE(rig.gate->body_unfinished());
}

TEST_F(RequestGateTest, MalformedHeadsAndAnotherHostAreRefused) {
  FakeStage stage;
  {
    Rig rig(*off_, stage);
    rig.feed("GET / HTTP/1.1\r\nHost: elsewhere.example.com\r\n\r\n");
    EXPECT_EQ(rig.host.status, 400);
    EXPECT_EQ(rig.host.code, "HostMismatch");
    EXPECT_EQ(rig.host.cause, Cause::kBadRequest);
  }
  {
    Rig rig(*off_, stage);
    rig.feed("GET / HTTP/1.1\r\nHost " + std::string(kHost) + "\r\n\r\n");
    EXPECT_EQ(rig.host.code, "BadRequest");
  }
  {
    Rig rig(*off_, stage);
    rig.feed("GET / HTTP/1.1\r\nHost: " + std::string(kHost) +
             "\r\nX-Big: " + std::string(70000, 'b'));
    EXPECT_EQ(rig.host.status, 431);
    EXPECT_EQ(rig.host.cause, Cause::kBadRequest);
  }
  EXPECT_TRUE(stage.heads.empty());  // none of them reached the stage
}

TEST_F(RequestGateTest, NeedBodyBuffersTheWholeBodyThenDecidesWithIt) {
  const std::string body(3000, 'q');
  const std::string input = put("/q", body, "Expect: 100-continue\r\n") + get("/after");
  FakeStage stage;
  stage.decide = [](const StageRequest& r) {
    StageDecision d;
    if (!r.body_given && path_of(r.head_bytes) == "/q") {
      d.kind = StageDecision::Kind::kNeedBody;
      d.body_bytes_max = 1 << 20;
      d.request_number = 41;
    }
    return d;
  };
  every_split(
      stage, input,
      [&] {
        stage.heads.clear();
        stage.bodies.clear();
        stage.numbers.clear();
      },
      [&](Rig& rig, const std::string& split) {
        EXPECT_EQ(rig.host.upstream, input) << split;
        ASSERT_EQ(stage.bodies.size(), 1u) << split;
        EXPECT_EQ(stage.bodies[0], body) << split;
        // The request's number comes back with its body: the stage names the request by it.
        EXPECT_EQ(stage.numbers, std::vector<uint64_t>{41}) << split;
        EXPECT_EQ(stage.heads.size(), 3u) << split;  // /q twice, then /after
        // The client waits for a 100 before sending the body: the gate gave ours.
        EXPECT_EQ(rig.u2c_text(), "HTTP/1.1 100 Continue\r\n\r\n") << split;
        EXPECT_GE(rig.host.grown, 1) << split;
        EXPECT_EQ(rig.c2u.limit, Plain::kBytes) << split;  // back to the usual window
      });
}

TEST_F(RequestGateTest, AResponseWithoutFramingEndsWithTheConnection) {
  FakeStage stage;
  stage.audit = true;
  const std::string response = "HTTP/1.1 200 OK\r\nx-amz-request-id: R1\r\n\r\nuntil the end";
  for (size_t cut = 0; cut <= response.size(); ++cut) {
    Rig rig(audit_on(false), stage);
    rig.feed(get("/stream"));
    rig.host.now = 1500;
    rig.respond(std::string_view(response).substr(0, cut));
    rig.respond(std::string_view(response).substr(cut));
    std::vector<audit::Event> events = published();
    ASSERT_EQ(events.size(), 1u) << cut;  // request.forwarded only: the body may go on
    EXPECT_FALSE(rig.gate->upstream_reusable()) << cut;
    rig.gate->upstream_gone();  // the upstream closed: that ends the body cleanly
    events = published();
    ASSERT_EQ(events.size(), 1u) << cut;
    EXPECT_EQ(events[0].type, audit::EventType::kRequestCompleted) << cut;
    EXPECT_EQ(events[0].request_id.view(), "/stream") << cut;
    EXPECT_EQ(events[0].status, 200) << cut;
    EXPECT_EQ(events[0].aws_request_id.view(), "R1") << cut;
    EXPECT_EQ(events[0].bytes_out, 13u) << cut;
    EXPECT_EQ(events[0].duration_us, 500000u) << cut;
    EXPECT_EQ(events[0].detail.view(), "") << cut;
  }
}

TEST_F(RequestGateTest, FramedResponsesCompleteWithTheirLastByteInOrder) {
  FakeStage stage;
  stage.audit = true;
  const std::string responses =
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
      "HTTP/1.1 404 Not Found\r\nx-amz-error-code: NoSuchKey\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\n";
  for (size_t cut = 0; cut <= responses.size(); ++cut) {
    Rig rig(audit_on(false), stage);
    rig.feed(put("/one", "12345") + get("/two"));
    published();
    rig.respond(std::string_view(responses).substr(0, cut));
    rig.respond(std::string_view(responses).substr(cut));
    std::vector<audit::Event> events = published();
    ASSERT_EQ(events.size(), 2u) << cut;
    EXPECT_EQ(events[0].request_id.view(), "/one") << cut;
    EXPECT_EQ(events[0].status, 200) << cut;
    EXPECT_EQ(events[0].bytes_in, 5u) << cut;
    EXPECT_EQ(events[0].bytes_out, 5u) << cut;
    EXPECT_EQ(events[1].request_id.view(), "/two") << cut;
    EXPECT_EQ(events[1].status, 404) << cut;
    EXPECT_EQ(events[1].error_code.view(), "NoSuchKey") << cut;
    EXPECT_EQ(events[1].bytes_out, 3u) << cut;
    EXPECT_TRUE(rig.gate->upstream_reusable()) << cut;
  }
}

// An unsigned aws-chunked body (STREAMING-UNSIGNED-PAYLOAD-TRAILER) with its CRC32 trailer, as
// botocore and the AWS SDKs send it.
std::string unsigned_aws_chunked(const std::vector<std::string>& chunks) {
  std::string s;
  for (const std::string& c : chunks) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx", c.size());
    s += std::string(size) + "\r\n" + c + "\r\n";
  }
  return s + "0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
}

// The same bytes wrapped in HTTP/1.1 chunked framing, one HTTP chunk per `piece` bytes.
std::string http_chunked(std::string_view payload, size_t piece) {
  std::string s;
  for (size_t at = 0; at < payload.size(); at += piece) {
    std::string_view p = payload.substr(at, piece);
    char size[32];
    std::snprintf(size, sizeof size, "%zx", p.size());
    s += std::string(size) + "\r\n" + std::string(p) + "\r\n";
  }
  return s + "0\r\n\r\n";
}

TEST_F(RequestGateTest, BytesInArePayloadBytesWhateverTheFraming) {
  FakeStage stage;
  stage.audit = true;
  stage.decide = [](const StageRequest& r) {
    StageDecision d;
    d.unsigned_chunks =
        r.head_bytes.find("STREAMING-UNSIGNED-PAYLOAD-TRAILER") != std::string::npos;
    return d;
  };
  const std::string aws = unsigned_aws_chunked({std::string(1000, 'a'), std::string(17, 'b')});
  const std::string aws_head = "PUT /aws HTTP/1.1\r\nHost: " + std::string(kHost) +
                               "\r\nx-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER\r\n"
                               "Content-Encoding: aws-chunked\r\n"
                               "x-amz-decoded-content-length: 1017\r\n";
  const std::string input =
      chunked_post("/te", {"abc", std::string(300, 'x')}) +                            // 303
      aws_head + "Content-Length: " + std::to_string(aws.size()) + "\r\n\r\n" + aws +  // 1017
      aws_head + "Transfer-Encoding: chunked\r\n\r\n" + http_chunked(aws, 100) +       // 1017
      put("/plain", "12345");                                                          // 5
  const std::string responses = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  for (size_t piece : {size_t{1}, size_t{7}, size_t{4096}}) {
    Rig rig(audit_on(false), stage);
    for (size_t at = 0; at < input.size(); at += piece) {
      rig.feed(std::string_view(input).substr(at, piece));
    }
    ASSERT_EQ(rig.host.upstream, input) << piece;  // the bytes go as they came
    published();
    for (int i = 0; i < 4; ++i) rig.respond(responses);
    std::vector<audit::Event> events = published();
    ASSERT_EQ(events.size(), 4u) << piece;
    EXPECT_EQ(events[0].bytes_in, 303u) << piece;
    EXPECT_EQ(events[1].bytes_in, 1017u) << piece;
    EXPECT_EQ(events[2].bytes_in, 1017u) << piece;
    EXPECT_EQ(events[3].bytes_in, 5u) << piece;
  }
}

TEST_F(RequestGateTest, AResponseBeforeTheBodyEndsCountsThePayloadSoFar) {
  FakeStage stage;
  stage.audit = true;
  Rig rig(audit_on(false), stage);
  const std::string body = std::string(40, 'x');
  rig.feed(put("/early", body).substr(0, put("/early", body).size() - 10));
  published();
  rig.respond("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n");
  std::vector<audit::Event> events = published();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].status, 413);
  EXPECT_EQ(events[0].bytes_in, 30u);
}

TEST_F(RequestGateTest, BeforeForwardHoldsTheRequestUntilItsEventIsDurable) {
  FakeStage stage;
  stage.audit = true;
  Rig rig(audit_on(/*before_forward=*/true), stage);
  const std::string input = put("/held", "body") + get("/next");
  rig.feed(input);
  EXPECT_TRUE(rig.gate->awaiting_audit());
  EXPECT_EQ(rig.host.upstream, "");  // not even the head
  EXPECT_EQ(rig.host.audit_timer_ms, 5000u);
  EXPECT_EQ(stage.heads.size(), 1u);
  // The writer syncs the event.
  ASSERT_EQ(audit_ring_->available(), 1u);
  audit_ring_->release(1);
  audit_ring_->publish_durable(1);
  run_until([&] { return rig.host.released > 0; });
  EXPECT_EQ(rig.host.released, 1);
  EXPECT_FALSE(rig.gate->awaiting_audit());
  rig.pump();
  EXPECT_EQ(rig.host.upstream, put("/held", "body"));  // /next now waits for its own event
  EXPECT_TRUE(rig.gate->awaiting_audit());
  EXPECT_EQ(stage.heads.size(), 2u);
}

TEST_F(RequestGateTest, AnEventNeverRecordedMeansNothingLeavesAnd503) {
  FakeStage stage;
  stage.audit = true;
  Rig rig(audit_on(/*before_forward=*/true), stage);
  rig.feed(put("/held", "body"));
  ASSERT_TRUE(rig.gate->awaiting_audit());
  rig.gate->audit_timed_out();  // the tunnel's timer: hold_timeout_ms passed
  EXPECT_EQ(rig.host.upstream, "");
  EXPECT_TRUE(rig.host.finished);
  EXPECT_EQ(rig.host.cause, Cause::kDenied);
  EXPECT_NE(rig.host.answer.find("503"), std::string::npos);
  EXPECT_NE(rig.host.answer.find("AuditUnavailable"), std::string::npos);
  std::vector<audit::Event> events = published();
  ASSERT_EQ(events.size(), 2u);  // request.forwarded, then its outcome: never sent
  EXPECT_EQ(events[1].type, audit::EventType::kRequestCompleted);
  EXPECT_EQ(events[1].status, 503);
  EXPECT_EQ(events[1].error_code.view(), "AuditUnavailable");
}

// ---------------------------------------------------------------- signed aws-chunked bodies

class SignedChunksTest : public RequestGateTest {
 protected:
  const sigv4::Scope scope_{"20130524", "us-east-1", "s3"};
  sigv4::HmacKey key(std::string_view secret) const {
    return sigv4::HmacKey(sigv4::as_view(sigv4::derive_signing_key(secret, scope_)));
  }
  // A stage that forwards with a signer checking the client's chunks (AWS's example key and
  // seed) and signing them with `proxy_secret` from `proxy_seed`.
  void sign_with(FakeStage& stage, std::string proxy_secret, std::string proxy_seed) {
    proxy_secret_ = std::move(proxy_secret);
    proxy_seed_ = std::move(proxy_seed);
    stage.decide = [this](const StageRequest& r) {
      StageDecision d;
      if (r.head_bytes.find("aws-chunked") == std::string_view::npos) return d;
      sigv4::ChunkSignerSetup s;
      s.client_key = key(sigv4::testing::kExampleSecret);
      s.proxy_key = key(proxy_secret_);
      s.amz_date = sigv4::testing::kExampleDate;
      s.scope = scope_;
      s.client_seed_signature = sigv4::testing::kChunkSeedSignature;
      s.proxy_seed_signature = proxy_seed_;
      d.chunks = std::make_unique<sigv4::ChunkSigner>();
      EXPECT_TRUE(d.chunks->start(s));
      return d;
    };
  }
  static std::string head(size_t content_length) {
    return "PUT /examplebucket/chunkObject.txt HTTP/1.1\r\nHost: " + std::string(kHost) +
           "\r\nx-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD\r\n"
           "Content-Encoding: aws-chunked\r\nx-amz-decoded-content-length: 66560\r\n"
           "Content-Length: " +
           std::to_string(content_length) + "\r\n\r\n";
  }
  // Feeds in pieces of `piece` bytes.
  static void feed_pieces(Rig& rig, const std::string& input, size_t piece) {
    for (size_t at = 0; at < input.size(); at += piece) {
      rig.feed(std::string_view(input).substr(at, piece));
    }
  }
  std::string proxy_secret_;
  std::string proxy_seed_;
};

TEST_F(SignedChunksTest, ReSigningWithTheSameKeyReproducesAwsPublishedSignatures) {
  const std::string body = sigv4::testing::example_chunked_body();
  const std::string input = head(body.size()) + body + get("/after");
  FakeStage stage;
  sign_with(stage, std::string(sigv4::testing::kExampleSecret),
            std::string(sigv4::testing::kChunkSeedSignature));
  // Cuts inside the size lines, the signatures, the data and the trailing CRLFs, and pieces of
  // every size from one byte to all at once.
  std::vector<size_t> cuts = {0, input.size()};
  for (size_t at = 0; at < input.size(); at += 997) cuts.push_back(at);
  for (std::string_view sig : sigv4::testing::kChunkSignatures) {
    size_t p = input.find(sig);
    for (size_t d : {size_t{0}, size_t{1}, size_t{32}, size_t{63}, size_t{64}, size_t{66}}) {
      cuts.push_back(p + d);
    }
  }
  for (size_t cut : cuts) {
    Rig rig(*off_, stage);
    rig.feed(std::string_view(input).substr(0, cut));
    rig.feed(std::string_view(input).substr(cut));
    EXPECT_EQ(rig.host.upstream, input) << "cut at " << cut;
    EXPECT_FALSE(rig.host.finished) << "cut at " << cut << ": " << rig.host.answer;
    EXPECT_TRUE(rig.gate->idle()) << "cut at " << cut;
  }
  for (size_t piece : {size_t{1}, size_t{7}, size_t{4096}, size_t{65536}}) {
    Rig rig(*off_, stage);
    feed_pieces(rig, input, piece);
    EXPECT_EQ(rig.host.upstream, input) << "pieces of " << piece;
    EXPECT_EQ(rig.c2u.limit, Plain::kBytes) << "pieces of " << piece;  // the window came back
  }
}

TEST_F(SignedChunksTest, ChunksAreReSignedForTheRecordAndChainFromTheNewSeed) {
  const std::string body = sigv4::testing::example_chunked_body();
  const std::string new_seed(64, '7');
  FakeStage stage;
  sign_with(stage, "record-secret", new_seed);
  for (size_t piece : {size_t{1}, size_t{1000}, size_t{70000}}) {
    Rig rig(*off_, stage);
    feed_pieces(rig, head(body.size()) + body, piece);
    ASSERT_EQ(rig.host.upstream.size(), head(body.size()).size() + body.size());
    const std::string sent = rig.host.upstream.substr(head(body.size()).size());
    EXPECT_NE(sent, body);
    for (std::string_view sig : sigv4::testing::kChunkSignatures) {
      EXPECT_EQ(sent.find(sig), std::string::npos) << "an old signature went upstream";
    }
    // What went upstream is a valid signed body for the record's key and the new seed.
    sigv4::ChunkSignerSetup s;
    s.client_key = s.proxy_key = key("record-secret");
    s.amz_date = sigv4::testing::kExampleDate;
    s.scope = scope_;
    s.client_seed_signature = s.proxy_seed_signature = new_seed;
    sigv4::ChunkSigner check;
    ASSERT_TRUE(check.start(s));
    std::string_view rest = sent;
    sigv4::ChunkSigner::Step step;
    while (!rest.empty()) {
      step = check.feed(rest);
      rest.remove_prefix(step.consumed);
      ASSERT_NE(step.kind, sigv4::ChunkSigner::Kind::kError) << "pieces of " << piece;
      if (step.kind == sigv4::ChunkSigner::Kind::kDone) break;
    }
    EXPECT_EQ(step.kind, sigv4::ChunkSigner::Kind::kDone);
  }
}

TEST_F(SignedChunksTest, BytesInAreTheDecodedPayloadNotTheEncodedBody) {
  const std::string body = sigv4::testing::example_chunked_body();
  FakeStage stage;
  stage.audit = true;
  sign_with(stage, std::string(sigv4::testing::kExampleSecret),
            std::string(sigv4::testing::kChunkSeedSignature));
  for (size_t piece : {size_t{1}, size_t{4096}, size_t{1} << 20}) {
    Rig rig(audit_on(false), stage);
    feed_pieces(rig, head(body.size()) + body + put("/next", "abc"), piece);
    ASSERT_FALSE(rig.host.finished) << rig.host.answer;
    published();
    rig.respond(
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    std::vector<audit::Event> events = published();
    ASSERT_EQ(events.size(), 2u) << piece;
    EXPECT_EQ(events[0].bytes_in, 66560u) << piece;  // x-amz-decoded-content-length
    EXPECT_EQ(events[1].bytes_in, 3u) << piece;
  }
}

TEST_F(SignedChunksTest, ATamperedChunkIsRefusedBeforeAnyOfItLeaves) {
  std::string body = sigv4::testing::example_chunked_body();
  body[body.find("\r\n") + 2 + 100] = 'b';  // one byte of the first chunk's data
  FakeStage stage;
  sign_with(stage, std::string(sigv4::testing::kExampleSecret),
            std::string(sigv4::testing::kChunkSeedSignature));
  Rig rig(*off_, stage);
  rig.feed(head(body.size()) + body);
  EXPECT_EQ(rig.host.upstream, head(body.size()));  // the held chunk never went
  EXPECT_EQ(rig.host.status, 403);
  EXPECT_EQ(rig.host.code, "SignatureDoesNotMatch");
  EXPECT_EQ(rig.host.cause, Cause::kBadRequest);
}

TEST_F(SignedChunksTest, ATamperedChunkMidBodyIsTheOutcomeTheAuditTrailGets) {
  std::string body = sigv4::testing::example_chunked_body();
  body[body.find("\r\n") + 2 + 100] = 'b';
  FakeStage stage;
  stage.audit = true;
  sign_with(stage, std::string(sigv4::testing::kExampleSecret),
            std::string(sigv4::testing::kChunkSeedSignature));
  Rig rig(audit_on(false), stage);
  // The first chunk whole, the rest of the body still to come.
  const size_t second = body.find("\r\n400;chunk-signature=") + 2;
  ASSERT_LT(second, body.size());
  rig.feed(head(body.size()));
  rig.host.now = 1250;
  rig.feed(std::string_view(body).substr(0, second + 10));
  EXPECT_EQ(rig.host.status, 403);
  EXPECT_EQ(rig.host.code, "SignatureDoesNotMatch");
  EXPECT_TRUE(rig.gate->body_unfinished());  // the client is still sending
  std::vector<audit::Event> events = published();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, audit::EventType::kRequestForwarded);
  EXPECT_EQ(events[1].type, audit::EventType::kRequestCompleted);
  EXPECT_EQ(events[1].request_id.view(), "/examplebucket/chunkObject.txt");
  EXPECT_EQ(events[1].status, 403);
  EXPECT_EQ(events[1].error_code.view(), "SignatureDoesNotMatch");
  EXPECT_EQ(events[1].detail.view(), rig.host.answer);
  EXPECT_NE(events[1].detail.view().find("chunk 1"), std::string_view::npos);
  EXPECT_EQ(events[1].duration_us, 250000u);
  // The upstream is dropped as the tunnel closes: the request has its outcome already.
  rig.gate->upstream_gone();
  EXPECT_TRUE(published().empty());
}

TEST_F(SignedChunksTest, ABodyThatEndsInsideAChunkIsRefusedAndItsLastChunkHeld) {
  const std::string body = sigv4::testing::example_chunked_body();
  const size_t short_by = 10;  // Content-Length ends inside the final chunk's line
  const std::string input = head(body.size() - short_by) + body.substr(0, body.size() - short_by);
  // What may have gone: the head, then the chunks whose signatures were checked and replaced
  // (each from its size line to the end of its data; the CRLF after the data is held with the
  // next chunk's line). The final chunk never goes.
  const size_t final_chunk = body.find("\r\n0;chunk-signature=");
  const std::string cleared = head(body.size() - short_by) + body.substr(0, final_chunk);
  FakeStage stage;
  sign_with(stage, std::string(sigv4::testing::kExampleSecret),
            std::string(sigv4::testing::kChunkSeedSignature));
  for (size_t piece : {size_t{1}, size_t{4096}, size_t{1} << 20}) {
    Rig rig(*off_, stage);
    feed_pieces(rig, input, piece);
    EXPECT_EQ(rig.host.status, 400) << "pieces of " << piece;
    EXPECT_EQ(rig.host.code, "IncompleteBody") << "pieces of " << piece;
    EXPECT_EQ(cleared.compare(0, rig.host.upstream.size(), rig.host.upstream), 0)
        << "pieces of " << piece << ": more than the checked chunks went upstream";
    // Fed a byte at a time, each chunk went as soon as its signature was replaced; fed at once,
    // the end of the body was seen before anything was sent, and nothing of it left.
    if (piece == 1) {
      EXPECT_EQ(rig.host.upstream.size(), cleared.size());
    } else if (piece == size_t{1} << 20) {
      EXPECT_EQ(rig.host.upstream, head(body.size() - short_by));
    }
  }
}

}  // namespace
}  // namespace pamproxy::proxy
