// Fuzz target: the provider's answers to the device authorization endpoint and the token
// endpoint, both parsed from the same input. Whatever arrives, each parse ends with an error or
// with values inside their documented bounds.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pamproxy/identity/discovery.h"
#include "pamproxy/identity/token_answer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pamproxy::identity;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<DeviceAuthorization> d = parse_device_authorization(input);
  if (d.ok()) {
    if (d->device_code.empty() || d->device_code.size() > kTokenBytesMax) std::abort();
    if (d->user_code.empty() || d->user_code.size() > kUserCodeBytesMax) std::abort();
    if (!d->verification_uri.starts_with("https://")) std::abort();
    if (d->verification_uri.size() > kUrlBytesMax) std::abort();
    if (d->expires_in_s < 1 || d->expires_in_s > 1800) std::abort();
    if (d->interval_s < 1 || d->interval_s > kPollIntervalMaxS) std::abort();
  }
  absl::StatusOr<TokenAnswer> t = parse_token_answer(input);
  if (t.ok()) {
    if (t->error.empty() && t->access_token.empty()) std::abort();
    if (t->error.size() > 64 || t->error_description.size() > 300) std::abort();
    if (t->interval_s < 0 || t->interval_s > kPollIntervalMaxS) std::abort();
    if (t->id_token.size() > kTokenBytesMax || t->refresh_token.size() > kTokenBytesMax) {
      std::abort();
    }
  }
  return 0;
}
