#include "pamproxy/policy/model.h"

#include <openssl/crypto.h>

#include "pamproxy/policy/strings.h"

namespace pamproxy::policy {

Secret& Secret::operator=(const Secret& o) {
  if (this != &o) {
    wipe();
    bytes_ = o.bytes_;
  }
  return *this;
}

Secret& Secret::operator=(Secret&& o) noexcept {
  if (this != &o) {
    wipe();
    bytes_ = std::move(o.bytes_);
    o.bytes_.clear();
  }
  return *this;
}

Secret::~Secret() {
  wipe();
}

void Secret::wipe() {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
  bytes_.clear();
}

namespace {
struct PermissionName {
  std::string_view name;
  Permission bit;
};
constexpr PermissionName kPermissionNames[] = {
    {"view", kView}, {"connect", kConnect}, {"edit", kEdit}, {"manage", kManage}};
}  // namespace

std::optional<Permissions> parse_permissions(std::string_view text) {
  Permissions out = 0;
  size_t pos = 0;
  while (true) {
    size_t comma = text.find(',', pos);
    std::string_view part =
        strip(text.substr(pos, comma == std::string_view::npos ? text.npos : comma - pos));
    pos = comma + 1;
    bool found = false;
    for (const auto& p : kPermissionNames) {
      if (iequals(part, p.name)) {
        out |= p.bit;
        found = true;
      }
    }
    if (!found) return std::nullopt;
    if (comma == std::string_view::npos) break;
  }
  if (out == 0) return std::nullopt;
  return out;
}

std::string permissions_to_string(Permissions p) {
  std::string out;
  for (const auto& n : kPermissionNames) {
    if ((p & n.bit) == 0) continue;
    if (!out.empty()) out += ',';
    out += n.name;
  }
  return out;
}

std::string_view request_state_name(RequestState s) {
  switch (s) {
    case RequestState::kPending: return "pending";
    case RequestState::kApproved: return "approved";
    case RequestState::kDenied: return "denied";
    case RequestState::kExpired: return "expired";
    case RequestState::kRevoked: return "revoked";
  }
  return "unknown";
}

RequestState AccessRequest::effective_state(absl::Time now) const {
  if ((state == RequestState::kPending || state == RequestState::kApproved) && now >= end_at) {
    return RequestState::kExpired;
  }
  return state;
}

}  // namespace pamproxy::policy
