#pragma once
// The provider's JSON answers to the calls a command-line sign-in makes: the device authorization
// endpoint's (RFC 8628 section 3.2) and the token endpoint's, success (RFC 6749 section 5.1) or
// error (section 5.2). Pure: the caller makes the call and passes the body.
//
//   absl::StatusOr<DeviceAuthorization> d = parse_device_authorization(body);
//   absl::StatusOr<TokenAnswer> t = parse_token_answer(body);
//   if (t->error == "authorization_pending") poll again after d->interval_s
//
// Every value is bounded and checked before it is kept: a device code or token of at most
// kTokenBytesMax bytes of visible ASCII, a user code of at most kUserCodeBytesMax, https URLs
// (discovery.h's rule), a lifetime of 1 s to kDeviceLifetimeMax and an interval of 1 to
// kPollIntervalMaxS seconds (absent: 5 s, as RFC 8628 says). An error code is kept as its first
// 64 visible characters, its description as its first 300: they end up in messages.
// Bounds: an answer of at most kTokenAnswerBytesMax bytes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pamproxy::identity {

inline constexpr size_t kTokenAnswerBytesMax = 256 * 1024;
inline constexpr size_t kTokenBytesMax = 64 * 1024;
inline constexpr size_t kUserCodeBytesMax = 64;
inline constexpr absl::Duration kDeviceLifetimeMax = absl::Minutes(30);
inline constexpr int64_t kPollIntervalMaxS = 60;

struct DeviceAuthorization {
  std::string device_code;
  std::string user_code;
  std::string verification_uri;
  std::string verification_uri_complete;  // "" when the provider gave none
  int64_t expires_in_s = 0;               // 1 .. kDeviceLifetimeMax, shortened to it
  int64_t interval_s = 5;
};

absl::StatusOr<DeviceAuthorization> parse_device_authorization(std::string_view json);

struct TokenAnswer {
  std::string error;              // "" on success
  std::string error_description;  // "" when none
  int64_t interval_s = 0;         // an error's "interval" (RFC 8628 slow_down), 0 when none
  std::string id_token;           // "" when none (a refresh may answer without one)
  std::string access_token;
  std::string refresh_token;  // "" when none
};

// InvalidArgument when the answer is not a JSON object, or a success lacks its access_token.
absl::StatusOr<TokenAnswer> parse_token_answer(std::string_view json);

// "error: description" of an error answer, or the error alone.
std::string token_error_text(const TokenAnswer& answer);

}  // namespace pamproxy::identity
