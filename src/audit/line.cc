// Serialization of events into chained JSON lines. Runs on the writer thread, batch after batch:
// it appends to a reused buffer and never allocates once that buffer has grown.

#include "pamproxy/audit/line.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <charconv>
#include <climits>
#include <cstring>
#include <ctime>

#include "pamproxy/base/check.h"
#include "pamproxy/base/json_writer.h"

namespace pamproxy::audit {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_uint(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

void append_key(std::string& out, std::string_view key) {
  out.append(",\"");
  out.append(key);
  out.append("\":");
}

// JSON string literal. Most values are plain printable ASCII: those are appended in one piece;
// anything else takes the general escaper (which also replaces invalid UTF-8).
void append_json_string(std::string& out, std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == '"' || c == '\\' || c >= 0x7f) {
      JsonWriter::append_escaped(out, s);
      return;
    }
  }
  out.push_back('"');
  out.append(s);
  out.push_back('"');
}

template <size_t N>
void append_string_field(std::string& out, std::string_view key, const InlineString<N>& s) {
  if (s.empty()) return;
  append_key(out, key);
  append_json_string(out, s.view());
}

void append_uint_field(std::string& out, std::string_view key, uint64_t v) {
  append_key(out, key);
  append_uint(out, v);
}

}  // namespace

bool has_traffic_fields(EventType t) {
  return t == EventType::kRequestDenied || t == EventType::kRequestForwarded ||
         t == EventType::kRequestCompleted || t == EventType::kTunnelClosed;
}

namespace {

// OpenSSL 3's one-shot SHA256() looks its implementation up (a locked table) and sets up a
// context on every call, which costs as much as hashing a whole line. The writer and the
// verifiers hash line after line on one thread each: fetch once per thread, reuse the context.
struct Sha256Context {
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Sha256Context() {
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
  }
};

}  // namespace

void sha256_hex(std::string_view bytes, char out[kHashHexBytes]) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  thread_local Sha256Context sha;
  unsigned int n = 0;
  const bool ok = sha.md != nullptr && sha.ctx != nullptr &&
                  EVP_DigestInit_ex2(sha.ctx, sha.md, nullptr) == 1 &&
                  EVP_DigestUpdate(sha.ctx, bytes.data(), bytes.size()) == 1 &&
                  EVP_DigestFinal_ex(sha.ctx, digest, &n) == 1 && n == SHA256_DIGEST_LENGTH;
  PAMPROXY_CHECK(ok);
  for (size_t i = 0; i < SHA256_DIGEST_LENGTH; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xf];
  }
}

size_t format_event_time(int64_t unix_ns, char out[32]) {
  int64_t secs = unix_ns / 1000000000;
  int64_t micros = (unix_ns % 1000000000) / 1000;
  if (micros < 0) {  // before 1970: keep the fraction positive
    micros += 1000000;
    secs -= 1;
  }
  // Events arrive in bursts within the same second: format the date and time once per second
  // per thread.
  thread_local int64_t cached_secs = INT64_MIN;
  thread_local char cached[24];
  thread_local size_t cached_len = 0;
  if (secs != cached_secs) {
    time_t t = static_cast<time_t>(secs);
    struct tm tm;
    gmtime_r(&t, &tm);
    cached_len = std::strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
    cached_secs = secs;
  }
  std::memcpy(out, cached, cached_len);
  size_t n = cached_len;
  out[n++] = '.';
  for (int i = 5; i >= 0; --i) {
    out[n + i] = static_cast<char>('0' + micros % 10);
    micros /= 10;
  }
  n += 6;
  out[n++] = 'Z';
  return n;
}

void append_line(std::string& out, const LineHead& head, const Event& e, std::string_view extra) {
  out.append("{\"seq\":");
  append_uint(out, head.seq);
  out.append(",\"prev\":\"");
  out.append(head.prev_hex);
  out.append("\",\"eventTime\":\"");
  char time_buf[32];
  out.append(time_buf, format_event_time(e.time_unix_ns, time_buf));
  out.append("\",\"eventType\":\"");
  out.append(event_type_name(e.type));
  out.push_back('"');
  append_key(out, "node");
  append_json_string(out, head.node);

  append_string_field(out, "eventSource", e.event_source);
  append_string_field(out, "eventName", e.event_name);
  append_string_field(out, "awsRegion", e.aws_region);
  append_string_field(out, "sourceIPAddress", e.source_ip);
  if (e.source_port != 0) append_uint_field(out, "sourcePort", e.source_port);
  append_string_field(out, "userAgent", e.user_agent);
  append_string_field(out, "cliCommand", e.cli_command);
  append_string_field(out, "errorCode", e.error_code);
  append_string_field(out, "requestID", e.aws_request_id);
  append_string_field(out, "proxyRequestId", e.request_id);
  if (e.read_only != ReadOnly::kUnknown) {
    append_key(out, "readOnly");
    out.append(e.read_only == ReadOnly::kTrue ? "true" : "false");
  }
  append_string_field(out, "sessionId", e.session_id);
  append_string_field(out, "user", e.user);
  append_string_field(out, "tokenId", e.token_id);
  append_string_field(out, "recordId", e.record_id);
  append_string_field(out, "recordName", e.record_name);
  append_string_field(out, "targetHost", e.target_host);
  append_string_field(out, "denyReason", e.deny_reason);
  append_string_field(out, "detail", e.detail);
  append_string_field(out, "awsAccount", e.aws_account);
  if (!e.resources.empty()) {
    append_key(out, "resources");
    out.push_back('[');
    bool first = true;
    e.resources.for_each([&](std::string_view arn) {
      if (!first) out.push_back(',');
      append_json_string(out, arn);
      first = false;
    });
    out.push_back(']');
    if (e.resources.truncated()) append_uint_field(out, "resourcesTotal", e.resources.total());
  }
  if (e.status != 0) append_uint_field(out, "status", static_cast<uint32_t>(e.status));
  if (has_traffic_fields(e.type)) {
    append_uint_field(out, "bytesIn", e.bytes_in);
    append_uint_field(out, "bytesOut", e.bytes_out);
    append_uint_field(out, "durationUs", e.duration_us);
  }

  // Name every field that was cut to fit, so a reader knows the value is a prefix.
  struct Named {
    std::string_view name;
    bool truncated;
  };
  const Named cut[] = {
      {"eventSource", e.event_source.truncated()},
      {"eventName", e.event_name.truncated()},
      {"awsRegion", e.aws_region.truncated()},
      {"sourceIPAddress", e.source_ip.truncated()},
      {"userAgent", e.user_agent.truncated()},
      {"cliCommand", e.cli_command.truncated()},
      {"errorCode", e.error_code.truncated()},
      {"requestID", e.aws_request_id.truncated()},
      {"proxyRequestId", e.request_id.truncated()},
      {"sessionId", e.session_id.truncated()},
      {"user", e.user.truncated()},
      {"tokenId", e.token_id.truncated()},
      {"recordId", e.record_id.truncated()},
      {"recordName", e.record_name.truncated()},
      {"targetHost", e.target_host.truncated()},
      {"denyReason", e.deny_reason.truncated()},
      {"detail", e.detail.truncated()},
      {"awsAccount", e.aws_account.truncated()},
      {"resources", e.resources.truncated()},
  };
  bool any = false;
  for (const Named& n : cut) {
    if (!n.truncated) continue;
    out.append(any ? ",\"" : ",\"truncated\":[\"");
    out.append(n.name);
    out.push_back('"');
    any = true;
  }
  if (any) out.push_back(']');
  out.append(extra);
  out.push_back('}');
}

std::string checkpoint_message(uint64_t seq, std::string_view prev_hex, std::string_view event_time,
                               std::string_view node) {
  std::string m = "pamproxy-audit-checkpoint/1\n";
  append_uint(m, seq);
  m.push_back('\n');
  m.append(prev_hex);
  m.push_back('\n');
  m.append(event_time);
  m.push_back('\n');
  m.append(node);
  return m;
}

}  // namespace pamproxy::audit
