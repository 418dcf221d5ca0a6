// The roles a call passes (see passed_roles.h).

#include "pamproxy/aws/passed_roles.h"

#include <simdjson.h>

#include "src/aws/query_string.h"
#include "src/aws/role_params.h"

namespace pamproxy::aws {
namespace {

constexpr std::string_view kRole = "role/";
constexpr std::string_view kInstanceProfile = "instance-profile/";

simdjson::dom::parser& role_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

// A JSON member that may carry a role: a string is read, anything else cannot be matched.
void json_role(const ResourceRequest& r, simdjson::dom::element value, PassedRoles* out) {
  std::string_view s;
  if (value.get_string().get(s) != simdjson::SUCCESS) {
    out->set_unreadable();
    return;
  }
  out->add(r, kRole, s);
}

void json_roles(const ResourceRequest& r, PassedRoles* out) {
  simdjson::dom::element doc;
  simdjson::dom::object members;
  if (role_parser().parse(r.body.data(), r.body.size()).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(members) != simdjson::SUCCESS) {
    // extract_resources() refuses such a body; nothing is decided on it.
    out->set_unreadable();
    return;
  }
  // Never EC2 here (its parameters are a form): the rule's JSON members are Lambda's and ECS's.
  for (auto [name, value] : members) {
    for_each_role_value(r.service, name, value,
                        [&](simdjson::dom::element role) { json_role(r, role, out); });
  }
}

// EC2's IamInstanceProfile.Arn and .Name, in the query and the form body.
void form_roles(const ResourceRequest& r, PassedRoles* out) {
  for (std::string_view form : {r.query, r.body}) {
    FormPair pair;
    while (next_form_pair(&form, &pair)) {
      const std::string_view name = pair.name;
      if (!carries_role("ec2", name)) continue;
      if (name == "IamInstanceProfile.Arn" || name == "IamInstanceProfile.Name") {
        out->add_form_value(r, kInstanceProfile, pair.value);
      } else {
        out->set_unreadable();
      }
    }
  }
}

}  // namespace

void PassedRoles::clear() {
  text_.clear();
  count_ = 0;
  unreadable_ = false;
}

std::string_view PassedRoles::operator[](size_t i) const {
  const uint32_t begin = i == 0 ? 0 : ends_[i - 1];
  return std::string_view(text_).substr(begin, ends_[i] - begin);
}

void PassedRoles::add(const ResourceRequest& r, std::string_view prefix, std::string_view value) {
  const size_t arn_bytes = value.starts_with("arn:") ? value.size()
                                                     : 32 + r.region.size() + r.account.size() +
                                                           prefix.size() + value.size();
  if (value.empty() || count_ == kCountMax || text_.size() + arn_bytes > kBytesMax) {
    unreadable_ = true;
    return;
  }
  if (value.starts_with("arn:")) {
    text_.append(value);
  } else {
    text_.append("arn:");
    text_.append(partition_of(r.region));
    text_.append(":iam::");
    text_.append(r.account);
    text_.push_back(':');
    text_.append(prefix);
    text_.append(value);
  }
  ends_[count_++] = static_cast<uint32_t>(text_.size());
}

// Form-decoded ('+' is a space, %XX a byte) into a buffer of the list's own bound.
void PassedRoles::add_form_value(const ResourceRequest& r, std::string_view prefix,
                                 std::string_view raw) {
  std::array<char, kBytesMax> decoded;
  size_t n = 0;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (n == decoded.size()) {
      unreadable_ = true;
      return;
    }
    char c = raw[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%') {
      const int hi = i + 2 < raw.size() ? hex_digit(raw[i + 1]) : -1;
      const int lo = i + 2 < raw.size() ? hex_digit(raw[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        unreadable_ = true;
        return;
      }
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    decoded[n++] = c;
  }
  add(r, prefix, std::string_view(decoded.data(), n));
}

void read_passed_roles(const ResourceRequest& r, PassedRoles* out) {
  out->clear();
  if (!may_pass_role(r.service, r.operation)) return;
  if (r.service == "ec2") {
    form_roles(r, out);
  } else if (!r.body.empty()) {
    json_roles(r, out);
  }
}

}  // namespace pamproxy::aws
