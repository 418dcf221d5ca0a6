// The provider's answers to the command-line sign-in's calls (see
// include/pamproxy/identity/token_answer.h).

#include "pamproxy/identity/token_answer.h"

#include <simdjson.h>

#include "pamproxy/identity/discovery.h"
#include "src/identity/cat.h"

namespace pamproxy::identity {
namespace {

bool visible_ascii(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= ' ' || c >= 0x7f) return false;
  }
  return true;
}

bool https_url(std::string_view url) {
  return url.size() <= kUrlBytesMax && url.starts_with("https://") && url.size() > 8 &&
         visible_ascii(url);
}

// Control characters replaced, cut at `bytes_max`: a provider's text that reaches a message.
std::string printable(std::string_view text, size_t bytes_max) {
  std::string out(text.substr(0, bytes_max));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < ' ' || c == 0x7f) c = '?';
  }
  return out;
}

// A string member that is visible ASCII of at most `bytes_max`; "" when absent; nullopt when
// present but not such a string.
std::optional<std::string> token_member(simdjson::dom::object doc, std::string_view name,
                                        size_t bytes_max) {
  simdjson::dom::element value;
  if (doc[name].get(value) != simdjson::SUCCESS || value.is_null()) return std::string();
  std::string_view s;
  if (value.get_string().get(s) != simdjson::SUCCESS || s.size() > bytes_max || !visible_ascii(s)) {
    return std::nullopt;
  }
  return std::string(s);
}

// A whole number of seconds; `fallback` when absent; nullopt when not a number.
std::optional<int64_t> seconds_member(simdjson::dom::object doc, std::string_view name,
                                      int64_t fallback) {
  simdjson::dom::element value;
  if (doc[name].get(value) != simdjson::SUCCESS) return fallback;
  int64_t n = 0;
  uint64_t u = 0;
  double d = 0;
  if (value.get_int64().get(n) == simdjson::SUCCESS) return n;
  if (value.get_uint64().get(u) == simdjson::SUCCESS) return INT64_MAX;
  if (value.get_double().get(d) == simdjson::SUCCESS && d >= -1e15 && d <= 1e15) {
    return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

// The answer as a JSON object held by `parser`, or the error that names `what`: an answer larger
// than kTokenAnswerBytesMax is refused before it is parsed. The object does not refer to `json`
// (the parser keeps its own copy of the strings), so it outlives the padded copy made here.
absl::StatusOr<simdjson::dom::object> parse_object(simdjson::dom::parser& parser,
                                                   std::string_view json, std::string_view what) {
  if (json.size() > kTokenAnswerBytesMax) {
    return absl::InvalidArgumentError(
        internal::cat(what, " is larger than ", kTokenAnswerBytesMax, " bytes"));
  }
  simdjson::padded_string padded(json);
  simdjson::dom::object doc;
  if (parser.parse(padded).get_object().get(doc) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(internal::cat(what, " is not a JSON object"));
  }
  return doc;
}

}  // namespace

absl::StatusOr<DeviceAuthorization> parse_device_authorization(std::string_view json) {
  constexpr std::string_view kWhat = "the provider's device authorization answer";
  simdjson::dom::parser parser;
  absl::StatusOr<simdjson::dom::object> doc = parse_object(parser, json, kWhat);
  if (!doc.ok()) return doc.status();
  std::optional<std::string> device_code = token_member(*doc, "device_code", kTokenBytesMax);
  std::optional<std::string> user_code = token_member(*doc, "user_code", kUserCodeBytesMax);
  std::optional<std::string> uri = token_member(*doc, "verification_uri", kUrlBytesMax);
  std::optional<std::string> complete =
      token_member(*doc, "verification_uri_complete", kUrlBytesMax);
  if (!device_code || device_code->empty()) {
    return absl::InvalidArgumentError(internal::cat(kWhat, " has no device_code"));
  }
  if (!user_code || user_code->empty()) {
    return absl::InvalidArgumentError(internal::cat(kWhat, " has no user_code"));
  }
  if (!uri || !https_url(*uri)) {
    return absl::InvalidArgumentError(
        internal::cat(kWhat, "'s verification_uri is not an https URL"));
  }
  if (!complete || (!complete->empty() && !https_url(*complete))) {
    return absl::InvalidArgumentError(
        internal::cat(kWhat, "'s verification_uri_complete is not an https URL"));
  }
  std::optional<int64_t> expires = seconds_member(*doc, "expires_in", -1);
  if (!expires || *expires < 1) {
    return absl::InvalidArgumentError(internal::cat(kWhat, " has no positive expires_in"));
  }
  std::optional<int64_t> interval = seconds_member(*doc, "interval", 5);
  if (!interval || *interval < 1 || *interval > kPollIntervalMaxS) {
    return absl::InvalidArgumentError(
        internal::cat(kWhat, "'s interval is not 1 to ", kPollIntervalMaxS, " seconds"));
  }
  DeviceAuthorization d;
  d.device_code = *std::move(device_code);
  d.user_code = *std::move(user_code);
  d.verification_uri = *std::move(uri);
  d.verification_uri_complete = *std::move(complete);
  d.expires_in_s = std::min(*expires, absl::ToInt64Seconds(kDeviceLifetimeMax));
  d.interval_s = *interval;
  return d;
}

absl::StatusOr<TokenAnswer> parse_token_answer(std::string_view json) {
  constexpr std::string_view kWhat = "the provider's token answer";
  simdjson::dom::parser parser;
  absl::StatusOr<simdjson::dom::object> doc = parse_object(parser, json, kWhat);
  if (!doc.ok()) return doc.status();
  TokenAnswer t;
  std::string_view error;
  if ((*doc)["error"].get_string().get(error) == simdjson::SUCCESS) {
    if (error.empty())
      return absl::InvalidArgumentError(internal::cat(kWhat, " has an empty error"));
    t.error = printable(error, 64);
    std::string_view description;
    if ((*doc)["error_description"].get_string().get(description) == simdjson::SUCCESS) {
      t.error_description = printable(description, 300);
    }
    std::optional<int64_t> interval = seconds_member(*doc, "interval", 0);
    if (interval && *interval >= 1) t.interval_s = std::min(*interval, kPollIntervalMaxS);
    return t;
  }
  struct Member {
    std::string_view name;
    std::string* out;
  };
  for (const Member& m : {Member{"id_token", &t.id_token}, Member{"access_token", &t.access_token},
                          Member{"refresh_token", &t.refresh_token}}) {
    std::optional<std::string> value = token_member(*doc, m.name, kTokenBytesMax);
    if (!value) {
      return absl::InvalidArgumentError(
          internal::cat(kWhat, "'s ", m.name, " is not a string of visible characters"));
    }
    *m.out = *std::move(value);
  }
  if (t.access_token.empty()) {
    return absl::InvalidArgumentError(internal::cat(kWhat, " has no access_token"));
  }
  return t;
}

std::string token_error_text(const TokenAnswer& answer) {
  if (answer.error_description.empty()) return answer.error;
  return internal::cat(answer.error, ": ", answer.error_description);
}

}  // namespace pamproxy::identity
