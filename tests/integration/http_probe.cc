// http-probe: runs pamproxy's HTTP/1.1 request codec over byte streams for the differential test
// against Node's llhttp (test_http_differential.py). Reads one hex-encoded stream per stdin line;
// writes one JSON line per stream: the requests read in order (method, target, body payload bytes,
// keep-alive), then how the stream ended: "error" (with the error name), "incomplete", "closed"
// (after a request without keep-alive), "upgrade" (after CONNECT) or "end". A line starting with
// "response GET " or "response HEAD " holds response bytes to a request with that method instead:
// the responses read are reported with their status, an until-close body ending with the input.

#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>

#include "pamproxy/http/body.h"
#include "pamproxy/http/request_parser.h"
#include "pamproxy/http/response_parser.h"

using namespace pamproxy::http;

namespace {

std::string from_hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    auto nib = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
    out.push_back(static_cast<char>(nib(hex[i]) << 4 | nib(hex[i + 1])));
  }
  return out;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u >= 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string probe(std::string_view rest) {
  std::string messages;
  std::string state = "end";
  std::string error;
  RequestParser parser(Limits{});
  BodyDecoder body(Limits{});
  while (!rest.empty()) {
    parser.reset();
    const ParseStatus s = parser.parse(rest);
    if (s == ParseStatus::kIncomplete) {
      state = "incomplete";
      break;
    }
    if (s == ParseStatus::kError) {
      state = "error";
      error = std::string(error_name(parser.error()));
      break;
    }
    const RequestHead& h = parser.head();
    std::string method(h.method_text()), target(h.target());
    const bool keep_alive = h.keep_alive();
    const bool connect = h.method() == Method::kConnect;
    body.reset(h.body_kind(), h.content_length());
    rest.remove_prefix(parser.head_bytes());
    uint64_t payload = 0;
    while (!body.done()) {
      BodyStep st = body.next(rest);
      if (st.kind == BodyStep::kNeedMore || st.kind == BodyStep::kError) break;
      if (st.kind == BodyStep::kData) payload += st.bytes;
      rest.remove_prefix(st.bytes);
    }
    if (body.error() != Error::kNone) {
      state = "error";
      error = std::string(error_name(body.error()));
      break;
    }
    if (!body.done()) {
      state = "incomplete";
      break;
    }
    if (!messages.empty()) messages += ",";
    messages += "{\"method\":" + json_string(method) + ",\"url\":" + json_string(target) +
                ",\"body\":" + std::to_string(payload) +
                ",\"keep_alive\":" + (keep_alive ? "true" : "false") + "}";
    if (connect) {
      state = "upgrade";
      break;
    }
    if (!keep_alive) {
      state = "closed";
      break;
    }
  }
  return "{\"messages\":[" + messages + "],\"state\":\"" + state +
         "\",\"error\":" + (error.empty() ? "null" : json_string(error)) + "}";
}

std::string probe_responses(std::string_view rest, Method method) {
  std::string messages;
  std::string state = "end";
  std::string error;
  ResponseParser parser(Limits{});
  BodyDecoder body(Limits{});
  while (!rest.empty()) {
    parser.reset(method);
    const ParseStatus s = parser.parse(rest);
    if (s == ParseStatus::kIncomplete) {
      state = "incomplete";
      break;
    }
    if (s == ParseStatus::kError) {
      state = "error";
      error = std::string(error_name(parser.error()));
      break;
    }
    const ResponseHead& h = parser.head();
    const int status = h.status();
    const bool keep_alive = h.keep_alive();
    body.reset(h.body_kind(), h.content_length());
    rest.remove_prefix(parser.head_bytes());
    uint64_t payload = 0;
    while (!body.done()) {
      BodyStep st = body.next(rest);
      if (st.kind == BodyStep::kError) break;
      if (st.kind == BodyStep::kNeedMore) {
        body.finish_at_eof();  // the input is all there is: the connection closes here
        break;
      }
      if (st.kind == BodyStep::kData) payload += st.bytes;
      rest.remove_prefix(st.bytes);
    }
    if (body.error() == Error::kTruncatedBody) {
      state = "incomplete";
      break;
    }
    if (body.error() != Error::kNone) {
      state = "error";
      error = std::string(error_name(body.error()));
      break;
    }
    if (!messages.empty()) messages += ",";
    messages += "{\"status\":" + std::to_string(status) + ",\"body\":" + std::to_string(payload) +
                ",\"keep_alive\":" + (keep_alive ? "true" : "false") + "}";
    if (!keep_alive && !h.interim()) {
      state = "closed";
      break;
    }
  }
  return "{\"messages\":[" + messages + "],\"state\":\"" + state +
         "\",\"error\":" + (error.empty() ? "null" : json_string(error)) + "}";
}

}  // namespace

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::string_view l(line);
    if (l.substr(0, 13) == "response GET ") {
      std::cout << probe_responses(from_hex(l.substr(13)), Method::kGet) << "\n";
    } else if (l.substr(0, 14) == "response HEAD ") {
      std::cout << probe_responses(from_hex(l.substr(14)), Method::kHead) << "\n";
    } else {
      std::cout << probe(from_hex(l)) << "\n";
    }
  }
  return 0;
}
