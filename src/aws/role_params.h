#pragma once
// Which parameters of a role-passing call (may_pass_role, resources.h) carry the role: one rule
// for the two readers of them, extract_resources() (whether a call passes a role at all) and
// read_passed_roles() (which roles). Internal.

#include <simdjson.h>

#include <string_view>

namespace pamproxy::aws {

// Whether parameter `name` of a role-passing call carries the role. Its presence is enough,
// whatever its value: telling an empty value from a real one is AWS's business, not a reason to
// let the call through.
inline bool carries_role(std::string_view service, std::string_view name) {
  if (service == "lambda") return name == "Role";
  if (service == "ec2") return name.starts_with("IamInstanceProfile.");
  if (service == "ecs") return name == "taskRoleArn" || name == "executionRoleArn";
  return false;
}

// Calls `fn(value)` for member `name` of a JSON body when it carries a role, or for each member
// that does inside it when it is ECS's `overrides` (RunTask, StartTask).
template <typename Fn>
void for_each_role_value(std::string_view service, std::string_view name,
                         simdjson::dom::element value, Fn fn) {
  if (carries_role(service, name)) {
    fn(value);
    return;
  }
  simdjson::dom::object overrides;
  if (service != "ecs" || name != "overrides" ||
      value.get_object().get(overrides) != simdjson::SUCCESS) {
    return;
  }
  for (auto [field, inner] : overrides) {
    if (carries_role(service, field)) fn(inner);
  }
}

}  // namespace pamproxy::aws
