#pragma once
// The roles a call hands to the service it calls, as ARNs: what an `allow iam:PassRole ARN`
// rule is matched against (policy/guardrail.h). extract_resources() tells whether a call passes
// a role at all (ResourceList::passes_role); this reads which ones, from the same parameters:
//
//   lambda CreateFunction {"Role":"arn:aws:iam::1:role/fn"}   -> arn:aws:iam::1:role/fn
//   ecs    RegisterTaskDefinition {"taskRoleArn":"app"}      -> arn:aws:iam::ACCOUNT:role/app
//          RunTask {"overrides":{"executionRoleArn":ARN}}    -> ARN
//   ec2    RunInstances IamInstanceProfile.Name=web          -> (as below)
//          arn:aws:iam::ACCOUNT:instance-profile/web
//          IamInstanceProfile.Arn=ARN                        -> ARN
//
// EC2 takes an instance profile, not a role: the profile's ARN is what a rule names for it (the
// proxy never sees which role the profile holds). A name is completed with the record's account
// (empty when unknown, as in resources.h). A value that cannot be matched for certain (not a
// string, empty, a parameter the list above does not read, more than kCountMax) makes the list
// unreadable(): only an allow rule for every role lifts the guardrail then.
//
// Pure: no I/O. The list keeps its storage from request to request; only role-passing calls
// (may_pass_role) are read, and their bodies are parsed once more for it.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "pamproxy/aws/resources.h"

namespace pamproxy::aws {

class PassedRoles {
 public:
  // A task definition's task and execution roles, and the same two in a RunTask's overrides.
  static constexpr size_t kCountMax = 8;
  static constexpr size_t kBytesMax = 4096;  // an IAM role ARN is at most about 600 bytes

  void clear();
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  std::string_view operator[](size_t i) const;
  // A role was passed that is not listed.
  bool unreadable() const { return unreadable_; }
  // The ARNs back to back, and where each ends (for policy::ResourceView).
  std::string_view text() const { return text_; }
  std::span<const uint32_t> ends() const { return {ends_.data(), count_}; }

  // `value` passed as parameter kind `prefix` ("role/", "instance-profile/"), decoded.
  void add(const ResourceRequest& r, std::string_view prefix, std::string_view value);
  void add_form_value(const ResourceRequest& r, std::string_view prefix, std::string_view raw);
  void set_unreadable() { unreadable_ = true; }

 private:
  std::string text_;
  std::array<uint32_t, kCountMax> ends_{};
  size_t count_ = 0;
  bool unreadable_ = false;
};

// The roles `request` passes (out cleared first). Calls that may_pass_role() says pass none
// list none.
void read_passed_roles(const ResourceRequest& request, PassedRoles* out);

}  // namespace pamproxy::aws
