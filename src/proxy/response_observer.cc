// Following upstream responses for their outcome (see include/pamproxy/proxy/response_observer.h).

#include "pamproxy/proxy/response_observer.h"

namespace pamproxy::proxy {
namespace {

constexpr size_t kIdBytesMax = 96;

std::string header_value(const http::ResponseHead& h, std::string_view name) {
  std::string_view v = h.find(name).value_or("");
  return std::string(v.substr(0, kIdBytesMax));
}

}  // namespace

ResponseObserver::ResponseObserver(const http::Limits& limits)
    : limits_(limits), parser_(limits), body_(limits) {}

void ResponseObserver::expect(uint64_t key, http::Method request_method) {
  waiting_.push_back({key, request_method});
  if (waiting_.size() == 1 && phase_ == Phase::kHead && head_.empty()) start_head();
}

void ResponseObserver::release_idle() {
  if (!waiting_.empty() || phase_ != Phase::kHead || !head_.empty()) return;
  std::string().swap(head_);
  parser_.release_memory();
}

void ResponseObserver::start_head() {
  phase_ = Phase::kHead;
  head_.clear();
  parser_.reset(waiting_.empty() ? http::Method::kGet : waiting_.front().method);
  current_ = ResponseOutcome{};
  if (!waiting_.empty()) current_.key = waiting_.front().key;
}

void ResponseObserver::complete(std::vector<ResponseOutcome>* done, bool ok) {
  current_.complete = ok;
  if (!waiting_.empty()) {
    done->push_back(std::move(current_));
    waiting_.erase(waiting_.begin());
  }
  start_head();
}

void ResponseObserver::lose(std::vector<ResponseOutcome>* done) {
  lost_ = true;
  while (!waiting_.empty()) {
    ResponseOutcome o = current_.key == waiting_.front().key ? current_ : ResponseOutcome{};
    o.key = waiting_.front().key;
    o.complete = false;
    done->push_back(std::move(o));
    waiting_.erase(waiting_.begin());
    current_ = ResponseOutcome{};
  }
  head_.clear();
  std::string().swap(head_);
}

bool ResponseObserver::feed(std::string_view bytes, std::vector<ResponseOutcome>* done) {
  while (!bytes.empty() && !lost_) {
    if (waiting_.empty()) {
      lose(done);  // bytes nobody asked for: the stream is not what we think it is
      return false;
    }
    if (phase_ == Phase::kHead) {
      const size_t old = head_.size();
      const size_t room = limits_.head_bytes_max + 1 - std::min<size_t>(old, limits_.head_bytes_max + 1);
      head_.append(bytes.substr(0, room));
      http::ParseStatus st = parser_.parse(head_);
      if (st == http::ParseStatus::kIncomplete) {
        if (head_.size() > limits_.head_bytes_max) {
          lose(done);
          return false;
        }
        return true;  // every byte given is in head_
      }
      if (st == http::ParseStatus::kError) {
        lose(done);
        return false;
      }
      bytes.remove_prefix(parser_.head_bytes() - old);
      const http::ResponseHead& h = parser_.head();
      if (h.interim()) {  // 100 Continue and friends: the final head follows
        head_.clear();
        parser_.reset(waiting_.front().method);
        continue;
      }
      if (!h.keep_alive() || h.body_kind() == http::BodyKind::kUntilClose) keep_alive_ = false;
      current_.status = h.status();
      current_.aws_request_id = header_value(h, "x-amz-request-id");
      if (current_.aws_request_id.empty()) current_.aws_request_id = header_value(h, "x-amzn-RequestId");
      std::string code = header_value(h, "x-amz-error-code");
      if (code.empty()) code = header_value(h, "x-amzn-ErrorType");
      current_.error_code = code.substr(0, code.find(':'));
      body_.reset(h.body_kind(), h.content_length());
      phase_ = Phase::kBody;
      if (h.body_kind() == http::BodyKind::kNone || body_.done()) complete(done, true);
      continue;
    }
    http::BodyStep s = body_.next(bytes);
    switch (s.kind) {
      case http::BodyStep::kNeedMore: return true;
      case http::BodyStep::kData: current_.body_bytes += s.bytes; break;
      case http::BodyStep::kFraming: break;
      case http::BodyStep::kDone:
        bytes.remove_prefix(s.bytes);
        complete(done, true);
        continue;
      case http::BodyStep::kError:
        lose(done);
        return false;
    }
    bytes.remove_prefix(s.bytes);
    if (body_.done()) complete(done, true);  // a Content-Length body ends with its last byte
  }
  return !lost_;
}

void ResponseObserver::finish(std::vector<ResponseOutcome>* done) {
  if (lost_) return;
  if (phase_ == Phase::kBody && body_.finish_at_eof() == http::Error::kNone && !waiting_.empty()) {
    complete(done, true);
  }
  lose(done);
}

}  // namespace pamproxy::proxy
