// The sign-ins under way (see include/pamproxy/identity/sign_ins.h).

#include "pamproxy/identity/sign_ins.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "absl/container/flat_hash_map.h"
#include "pamproxy/base/check.h"
#include "pamproxy/identity/id_token.h"

namespace pamproxy::identity {
namespace {

std::string base64url(const uint8_t* bytes, size_t size) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((size * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    for (int shift : {18, 12, 6, 0}) out.push_back(kAlphabet[(v >> shift) & 63]);
  }
  if (size - i == 1) {
    const uint32_t v = uint32_t{bytes[i]} << 16;
    for (int shift : {18, 12}) out.push_back(kAlphabet[(v >> shift) & 63]);
  } else if (size - i == 2) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8);
    for (int shift : {18, 12, 6}) out.push_back(kAlphabet[(v >> shift) & 63]);
  }
  return out;
}

std::array<uint8_t, 32> sha256(std::string_view text) {
  std::array<uint8_t, 32> out{};
  SHA256(reinterpret_cast<const uint8_t*>(text.data()), text.size(), out.data());
  return out;
}

}  // namespace

std::string random_base64url_256() {
  uint8_t bytes[32];
  PAMPROXY_CHECK(RAND_bytes(bytes, sizeof(bytes)) == 1);
  return base64url(bytes, sizeof(bytes));
}

std::string pkce_s256_challenge(std::string_view code_verifier) {
  const std::array<uint8_t, 32> digest = sha256(code_verifier);
  return base64url(digest.data(), digest.size());
}

std::optional<PendingSignIns::Started> PendingSignIns::start(absl::Time now, CliReturn cli) {
  if (by_digest_.size() >= sign_ins_max_) {
    absl::erase_if(by_digest_,
                   [&](const auto& entry) { return now - entry.second.started >= lifetime_; });
    if (by_digest_.size() >= sign_ins_max_) return std::nullopt;
  }
  PendingSignIn sign_in{.state = random_base64url_256(),
                        .nonce = random_base64url_256(),
                        .code_verifier = random_base64url_256(),
                        .started = now,
                        .cli = std::move(cli)};
  Started started{.state = sign_in.state,
                  .nonce = sign_in.nonce,
                  .code_challenge = pkce_s256_challenge(sign_in.code_verifier)};
  auto [it, inserted] = by_digest_.emplace(sha256(sign_in.state), std::move(sign_in));
  PAMPROXY_CHECK(inserted);  // 256 random bits do not repeat
  return started;
}

std::optional<PendingSignIn> PendingSignIns::take(std::string_view state, absl::Time now) {
  auto it = by_digest_.find(sha256(state));
  if (it == by_digest_.end()) return std::nullopt;
  PendingSignIn found = std::move(it->second);
  by_digest_.erase(it);
  if (!secrets_equal(found.state, state) || now - found.started >= lifetime_) return std::nullopt;
  return found;
}

std::optional<std::string> PendingDevices::add(std::string device_code, absl::Time now,
                                               absl::Duration lifetime, int64_t interval_s) {
  if (by_digest_.size() >= devices_max_) {
    absl::erase_if(by_digest_, [&](const auto& entry) { return now >= entry.second.expires; });
    if (by_digest_.size() >= devices_max_) return std::nullopt;
  }
  std::string handle = random_base64url_256();
  PendingDevice device{.handle = handle,
                       .device_code = std::move(device_code),
                       .expires = now + lifetime,
                       .interval_s = interval_s,
                       .next_poll = now};
  auto [it, inserted] = by_digest_.emplace(sha256(handle), std::move(device));
  PAMPROXY_CHECK(inserted);  // 256 random bits do not repeat
  return handle;
}

PendingDevice* PendingDevices::find(std::string_view handle, absl::Time now) {
  auto it = by_digest_.find(sha256(handle));
  if (it == by_digest_.end() || !secrets_equal(it->second.handle, handle)) return nullptr;
  if (now >= it->second.expires) {
    by_digest_.erase(it);
    return nullptr;
  }
  return &it->second;
}

void PendingDevices::remove(std::string_view handle) {
  by_digest_.erase(sha256(handle));
}

}  // namespace pamproxy::identity
