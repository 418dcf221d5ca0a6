#pragma once
// The audit event: one fixed-size record per thing that happened (a tunnel opened, a request
// denied or forwarded, an admin or settings change, a reload, a recovery, a retention deletion,
// a checkpoint). docs/audit.md documents every field as it appears in the log.
//
// Producers (engine workers, the control thread) fill an Event on their own stack or in a ring
// slot and never allocate: every string is an InlineString with a fixed capacity; a longer value
// is cut at a UTF-8 boundary and marked truncated (the log line then names the field in
// "truncated"). The writer thread alone turns events into JSON.
//
// There is deliberately no field that could hold a secret: no Authorization header, no SigV4
// signature, no token secret, no AWS key. Keep it that way: a field added here is a field in
// the court record.

#include <cstdint>
#include <cstring>
#include <string_view>

namespace pamproxy::audit {

// A string of at most N bytes stored inline. Assigning a longer value keeps a prefix that ends
// on a UTF-8 character boundary and sets truncated().
template <size_t N>
class InlineString {
  static_assert(N > 0 && N < 65536);

 public:
  void assign(std::string_view s) {
    truncated_ = s.size() > N;
    size_t n = truncated_ ? N : s.size();
    if (truncated_) {
      // Step back over continuation bytes (10xxxxxx) so we never split a character.
      while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    }
    if (n > 0) std::memcpy(data_, s.data(), n);  // an empty view may have a null data()
    size_ = static_cast<uint16_t>(n);
  }
  void clear() {
    size_ = 0;
    truncated_ = false;
  }
  std::string_view view() const { return {data_, size_}; }
  bool empty() const { return size_ == 0; }
  bool truncated() const { return truncated_; }
  static constexpr size_t capacity() { return N; }

 private:
  uint16_t size_ = 0;
  bool truncated_ = false;
  char data_[N];
};

// The resources (ARNs) a request touched: as many whole ARNs as fit in kBytes, in the order the
// request named them, and how many there were in all (a DeleteObjects of 1,000 keys lists the
// first ones and says 1,000). An ARN is never cut: one that does not fit is only counted.
class ResourceNames {
 public:
  static constexpr size_t kBytes = 1536;

  void clear() {
    size_ = 0;
    listed_ = 0;
    total_ = 0;
  }
  void add(std::string_view arn) {
    ++total_;
    if (arn.empty() || arn.size() > kBytes - 2 || size_ + 2 + arn.size() > kBytes ||
        listed_ < total_ - 1) {
      return;  // once one is left out, the rest are too: the list stays a prefix
    }
    data_[size_] = static_cast<char>(arn.size() >> 8);
    data_[size_ + 1] = static_cast<char>(arn.size() & 0xFF);
    std::memcpy(data_ + size_ + 2, arn.data(), arn.size());
    size_ = static_cast<uint16_t>(size_ + 2 + arn.size());
    ++listed_;
  }
  // For the log reader: the total as written, once the listed ones were added.
  void set_total(uint32_t total) { total_ = total < listed_ ? listed_ : total; }
  uint32_t listed() const { return listed_; }
  uint32_t total() const { return total_; }
  bool empty() const { return total_ == 0; }
  bool truncated() const { return listed_ < total_; }
  // Calls f(arn) for each listed ARN, in order.
  template <typename F>
  void for_each(F&& f) const {
    for (size_t at = 0; at < size_;) {
      const size_t n = (static_cast<size_t>(static_cast<unsigned char>(data_[at])) << 8) |
                       static_cast<unsigned char>(data_[at + 1]);
      f(std::string_view(data_ + at + 2, n));
      at += 2 + n;
    }
  }

 private:
  uint16_t size_ = 0;
  uint32_t listed_ = 0;
  uint32_t total_ = 0;
  char data_[kBytes];
};

enum class EventType : uint8_t {
  kTunnelOpened = 1,
  kTunnelClosed,
  kRequestDenied,
  kRequestForwarded,  // the decision to forward, written before the request leaves
  kAdminChange,
  kSettingsChange,
  kConfigReload,
  kAuditRecovery,      // written by the audit writer itself
  kRetentionDeletion,  // written by the audit writer itself
  kCheckpoint,         // written by the audit writer itself
  // The outcome of a forwarded request, once its response has passed: AWS's status and request
  // id, the bytes each way, the time from forwarding to the response's last byte. Joined to its
  // request.forwarded by proxyRequestId.
  kRequestCompleted,
  // A notification about an access request that could not be delivered: each failed attempt
  // (eventName notification.attempt_failed) and the final failure (notification.failed), with
  // the cause in errorCode/detail.
  kNotification,
};
inline constexpr int kEventTypeCount = 12;

// Whether the writer syncs an event of this type as soon as its rings run dry. A request's
// decision is, since with [audit] durability = "before-forward" the request waits for it; so are
// the writer's own lines and the control plane's. The data plane's other events (a tunnel's, a
// denial, a request's outcome) are waited for by nobody: they neither wake a writer that will
// wake by itself within commit_interval_ms, nor get a sync of their own; they ride the next
// sync, which comes at most commit_interval_ms after the writer takes them.
constexpr bool is_awaited(EventType t) {
  return t != EventType::kTunnelOpened && t != EventType::kTunnelClosed &&
         t != EventType::kRequestDenied && t != EventType::kRequestCompleted;
}

// "tunnel.opened", "request.forwarded", ... (the eventType of the log); "" for an unknown value.
std::string_view event_type_name(EventType type);
// The inverse; false for an unknown name.
bool parse_event_type(std::string_view name, EventType* out);

// readOnly of CloudTrail: unknown until the operation is classified.
enum class ReadOnly : uint8_t { kUnknown = 0, kTrue, kFalse };

struct Event {
  EventType type = EventType::kRequestForwarded;
  ReadOnly read_only = ReadOnly::kUnknown;
  // Wall clock when it happened, nanoseconds since the Unix epoch (set by the producer).
  int64_t time_unix_ns = 0;
  // HTTP status given to the client (forwarded: AWS's; denied: ours); 0 = none.
  int32_t status = 0;
  uint16_t source_port = 0;
  uint64_t bytes_in = 0;   // client -> AWS (request body bytes relayed)
  uint64_t bytes_out = 0;  // AWS -> client (response body bytes relayed)
  uint64_t duration_us = 0;

  InlineString<46> source_ip;       // sourceIPAddress: the client address (v4 or v6 text)
  InlineString<48> event_source;    // eventSource: the service, e.g. "s3.amazonaws.com"
  InlineString<96> event_name;      // eventName: the operation, e.g. "PutObject"
  InlineString<24> aws_region;      // awsRegion
  InlineString<256> user_agent;     // userAgent as sent by the client
  InlineString<64> cli_command;     // "s3.cp" from the AWS CLI's "command/s3.cp" token
  InlineString<64> error_code;      // errorCode: AWS's, or ours for a denial ("AccessDenied")
  InlineString<96> aws_request_id;  // requestID: the id AWS returned
  InlineString<40> request_id;      // proxyRequestId: our id, also given to the client
  InlineString<40> session_id;
  InlineString<64> user;
  InlineString<64> token_id;
  InlineString<64> record_id;
  InlineString<128> record_name;
  InlineString<256> target_host;  // "host:port" of the CONNECT / Host
  InlineString<256> deny_reason;  // the human reason given with a denial
  InlineString<384> detail;       // admin/settings/reload/recovery/retention: what changed
  InlineString<16> aws_account;   // the record's AWS account id, when known
  ResourceNames resources;        // the ARNs the request touched

  // Back to an empty event without touching the string bytes (cheap: for reused ring slots).
  void clear() {
    type = EventType::kRequestForwarded;
    read_only = ReadOnly::kUnknown;
    time_unix_ns = 0;
    status = 0;
    source_port = 0;
    bytes_in = bytes_out = duration_us = 0;
    source_ip.clear(), event_source.clear(), event_name.clear(), aws_region.clear();
    user_agent.clear(), cli_command.clear(), error_code.clear(), aws_request_id.clear();
    request_id.clear(), session_id.clear(), user.clear(), token_id.clear(), record_id.clear();
    record_name.clear(), target_host.clear(), deny_reason.clear(), detail.clear();
    aws_account.clear(), resources.clear();
  }
};

// The AWS CLI command of a user agent: "aws-cli/2.9.19 ... command/s3.cp" ->
// "s3.cp". Empty when there is none. Pure; bounded by the input.
std::string_view cli_command_of(std::string_view user_agent);

}  // namespace pamproxy::audit
