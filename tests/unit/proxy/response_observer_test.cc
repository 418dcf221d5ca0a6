#include "pamproxy/proxy/response_observer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pamproxy::proxy {
namespace {

using http::Method;

std::vector<ResponseOutcome> feed_all(ResponseObserver& obs, std::string_view bytes,
                                      size_t piece = SIZE_MAX) {
  std::vector<ResponseOutcome> done;
  while (!bytes.empty()) {
    size_t n = std::min(piece, bytes.size());
    obs.feed(bytes.substr(0, n), &done);
    bytes.remove_prefix(n);
  }
  return done;
}

constexpr std::string_view kPutOk =
    "HTTP/1.1 200 OK\r\nx-amz-request-id: 4442587FB7D0A2F9\r\nETag: \"abc\"\r\n"
    "Content-Length: 0\r\n\r\n";
constexpr std::string_view kGetChunked =
    "HTTP/1.1 200 OK\r\nx-amzn-RequestId: c1f0-22\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n";
constexpr std::string_view kDenied =
    "HTTP/1.1 403 Forbidden\r\nx-amz-request-id: R403\r\nx-amz-error-code: AccessDenied\r\n"
    "Content-Length: 12\r\n\r\n<Error/>\n\n\n\n";

TEST(ResponseObserver, PipelinedResponsesInOrderWithIdsBytesAndCodes) {
  for (size_t piece : {SIZE_MAX, size_t{1}, size_t{7}}) {
    ResponseObserver obs(http::Limits{});
    obs.expect(1, Method::kPut);
    obs.expect(2, Method::kGet);
    obs.expect(3, Method::kGet);
    auto done = feed_all(obs, std::string(kPutOk) + std::string(kGetChunked) + std::string(kDenied),
                         piece);
    ASSERT_EQ(done.size(), 3u) << piece;
    EXPECT_EQ(done[0].key, 1u);
    EXPECT_EQ(done[0].status, 200);
    EXPECT_EQ(done[0].aws_request_id, "4442587FB7D0A2F9");
    EXPECT_EQ(done[0].body_bytes, 0u);
    EXPECT_TRUE(done[0].complete);
    EXPECT_EQ(done[1].key, 2u);
    EXPECT_EQ(done[1].aws_request_id, "c1f0-22");
    EXPECT_EQ(done[1].body_bytes, 11u);  // payload only, not the chunk framing
    EXPECT_EQ(done[2].status, 403);
    EXPECT_EQ(done[2].error_code, "AccessDenied");
    EXPECT_EQ(done[2].body_bytes, 12u);
    EXPECT_EQ(obs.waiting(), 0u);
    EXPECT_TRUE(obs.following());
  }
}

TEST(ResponseObserver, AnEmptyBodyCompletesWithItsHead) {
  ResponseObserver obs(http::Limits{});
  obs.expect(1, Method::kPut);
  auto done = feed_all(obs, kPutOk);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0].complete);
}

TEST(ResponseObserver, HeadResponsesHaveNoBodyAndInterimHeadsAreSkipped) {
  ResponseObserver obs(http::Limits{});
  obs.expect(7, Method::kHead);
  obs.expect(8, Method::kPut);
  auto done = feed_all(obs,
                       "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n"
                       "HTTP/1.1 100 Continue\r\n\r\n"
                       "HTTP/1.1 204 No Content\r\nx-amzn-ErrorType: Thing:http://x\r\n\r\n");
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].key, 7u);
  EXPECT_EQ(done[0].body_bytes, 0u);
  EXPECT_EQ(done[1].key, 8u);
  EXPECT_EQ(done[1].status, 204);
  EXPECT_EQ(done[1].error_code, "Thing");
}

TEST(ResponseObserver, UntilCloseBodyEndsAtFinishAndCutBodiesAreIncomplete) {
  ResponseObserver obs(http::Limits{});
  obs.expect(1, Method::kGet);
  auto done = feed_all(obs, "HTTP/1.1 200 OK\r\n\r\nstreaming...");
  EXPECT_TRUE(done.empty());
  obs.finish(&done);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0].complete);
  EXPECT_EQ(done[0].body_bytes, 12u);

  ResponseObserver cut(http::Limits{});
  cut.expect(1, Method::kGet);
  cut.expect(2, Method::kGet);
  done = feed_all(cut, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
  cut.finish(&done);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].status, 200);
  EXPECT_EQ(done[0].body_bytes, 5u);
  EXPECT_FALSE(done[0].complete);
  EXPECT_EQ(done[1].status, 0);
  EXPECT_FALSE(done[1].complete);
}

TEST(ResponseObserver, UnfollowableStreamsStopObservingAndReportEveryWaitingRequest) {
  const char* bad[] = {
      "HTTP/1.1 200 OK\nContent-Length: 0\n\n",                        // bare LF
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",    // bad chunk size
      "garbage that is no status line\r\n\r\n",
  };
  for (const char* b : bad) {
    ResponseObserver obs(http::Limits{});
    obs.expect(1, Method::kGet);
    obs.expect(2, Method::kGet);
    std::vector<ResponseOutcome> done;
    EXPECT_FALSE(obs.feed(b, &done)) << b;
    EXPECT_FALSE(obs.following());
    ASSERT_EQ(done.size(), 2u) << b;
    EXPECT_FALSE(done[0].complete);
    EXPECT_FALSE(done[1].complete);
    EXPECT_FALSE(obs.feed("HTTP/1.1 200 OK\r\n\r\n", &done));  // stays stopped
    EXPECT_EQ(done.size(), 2u);
  }
  // A head beyond the limit, and bytes no request asked for.
  http::Limits small;
  small.head_bytes_max = 64;
  ResponseObserver big(small);
  big.expect(1, Method::kGet);
  std::vector<ResponseOutcome> done;
  EXPECT_FALSE(big.feed("HTTP/1.1 200 OK\r\nx-pad: " + std::string(100, 'a') + "\r\n\r\n", &done));
  EXPECT_EQ(done.size(), 1u);
  ResponseObserver nobody(http::Limits{});
  EXPECT_FALSE(nobody.feed("HTTP/1.1 200 OK\r\n\r\n", &done));
}

// Whether the connection may go back to the pool: only between responses, and only if none of
// them ended the connection.
TEST(ResponseObserver, ReusableOnlyBetweenResponsesThatKeepTheConnection) {
  ResponseObserver obs(http::Limits{});
  EXPECT_TRUE(obs.reusable());  // nothing asked yet
  obs.expect(1, Method::kGet);
  EXPECT_FALSE(obs.reusable());  // a response is owed
  std::string get(kGetChunked);
  feed_all(obs, get.substr(0, get.size() - 3));
  EXPECT_FALSE(obs.reusable());  // the last chunk's end is still missing
  feed_all(obs, get.substr(get.size() - 3));
  EXPECT_TRUE(obs.reusable());

  obs.expect(2, Method::kGet);
  feed_all(obs, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_EQ(obs.waiting(), 0u);
  EXPECT_FALSE(obs.reusable());  // the upstream said it closes

  ResponseObserver http10(http::Limits{});
  http10.expect(1, Method::kGet);
  feed_all(http10, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_FALSE(http10.reusable());

  ResponseObserver stray(http::Limits{});
  stray.expect(1, Method::kPut);
  feed_all(stray, std::string(kPutOk) + "HTTP/1.1 200 OK\r\n");  // bytes nobody asked for
  EXPECT_FALSE(stray.reusable());
}

}  // namespace
}  // namespace pamproxy::proxy
