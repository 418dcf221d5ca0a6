// Fuzz target: STS GetCallerIdentity answers as a hostile endpoint may send them. Whatever
// arrives: no crash, an account of exactly 12 digits, a code of 1 to 64 letters, digits and dots,
// each a view into the body.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pamproxy/aws/caller_identity.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pamproxy::aws;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto within = [&](std::string_view v) {
    return v.data() >= body.data() && v.data() + v.size() <= body.data() + body.size();
  };
  if (auto account = caller_identity_account(body)) {
    if (account->size() != 12 || !within(*account)) std::abort();
    for (char c : *account) {
      if (c < '0' || c > '9') std::abort();
    }
  }
  if (auto code = query_error_code(body)) {
    if (code->empty() || code->size() > 64 || !within(*code)) std::abort();
    for (char c : *code) {
      const bool ok =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.';
      if (!ok) std::abort();
    }
  }
  return 0;
}
