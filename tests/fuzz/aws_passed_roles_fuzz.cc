// Fuzz target: the roles a role-passing call hands over (pamproxy/aws/passed_roles.h), from
// hostile JSON bodies, queries and form bodies. Whatever arrives: no crash; the list stays within
// its bounds; every role listed is an ARN; and the same request read twice gives the same list
// (nothing carried over from call to call).

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "pamproxy/aws/passed_roles.h"

namespace {

using pamproxy::aws::PassedRoles;

std::vector<std::string> copy(const PassedRoles& l) {
  std::vector<std::string> out;
  for (size_t i = 0; i < l.size(); ++i) out.emplace_back(l[i]);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pamproxy::aws;
  if (size == 0) return 0;
  // The first byte picks the call; then the query up to the first '\n', then the body.
  struct Call {
    std::string_view service;
    std::string_view operation;
  };
  static constexpr Call kCalls[] = {
      {"lambda", "CreateFunction"},      {"lambda", "UpdateFunctionConfiguration"},
      {"ecs", "RegisterTaskDefinition"}, {"ecs", "RunTask"},
      {"ec2", "RunInstances"},           {"ec2", "AssociateIamInstanceProfile"},
      {"lambda", "GetFunction"},
  };
  const Call& call = kCalls[data[0] % std::size(kCalls)];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t nl = in.find('\n');
  ResourceRequest r;
  r.service = call.service;
  r.operation = call.operation;
  r.region = (data[0] & 0x80) != 0 ? "cn-north-1" : "us-east-1";
  r.account = (data[0] & 0x40) != 0 ? "" : "123456789012";
  r.query = in.substr(0, nl);
  r.body = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);

  static PassedRoles list;
  read_passed_roles(r, &list);
  if (list.size() > PassedRoles::kCountMax || list.text().size() > PassedRoles::kBytesMax) {
    std::abort();
  }
  for (size_t i = 0; i < list.size(); ++i) {
    if (!list[i].starts_with("arn:")) std::abort();
  }
  std::vector<std::string> first = copy(list);
  PassedRoles fresh;
  read_passed_roles(r, &fresh);
  if (copy(fresh) != first || fresh.unreadable() != list.unreadable()) std::abort();
  return 0;
}
