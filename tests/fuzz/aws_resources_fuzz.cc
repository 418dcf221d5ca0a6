// Fuzz target: the resources of a request (pamproxy/aws/resources.h), from hostile paths,
// queries, copy sources and bodies of every protocol. Whatever arrives: no crash; a refusal
// leaves the list empty; every resource listed is an ARN within the list's bounds; and the same
// request read twice gives the same list (nothing carried over from call to call).

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "pamproxy/aws/resources.h"

namespace {

using pamproxy::aws::ResourceList;

std::vector<std::string> copy(const ResourceList& l) {
  std::vector<std::string> out;
  for (size_t i = 0; i < l.size(); ++i) out.emplace_back(l[i]);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pamproxy::aws;
  if (size == 0) return 0;
  // The first byte picks the service and protocol; then fields separated by '\n': operation,
  // path, query, host bucket, copy source, body (the rest, newlines and all).
  struct Service {
    std::string_view name;
    Protocol protocol;
  };
  static constexpr Service kServices[] = {
      {"s3", Protocol::kS3},
      {"dynamodb", Protocol::kJson},
      {"kms", Protocol::kJson},
      {"ssm", Protocol::kJson},
      {"sqs", Protocol::kQuery},
      {"iam", Protocol::kQuery},
      {"ec2", Protocol::kEc2},
      {"lambda", Protocol::kRestJson},
      {"route53", Protocol::kRestXml},
      {"logs", Protocol::kJson},
      {"secretsmanager", Protocol::kJson},
      {"sts", Protocol::kQuery},
  };
  const Service& service = kServices[data[0] % std::size(kServices)];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string_view f[5];
  for (auto& field : f) {
    size_t nl = in.find('\n');
    field = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  }
  ResourceRequest r;
  r.service = service.name;
  r.protocol = service.protocol;
  r.region = (data[0] & 0x80) != 0 ? "cn-north-1" : "us-east-1";
  r.account = (data[0] & 0x40) != 0 ? "" : "123456789012";
  r.operation = f[0];
  r.method = "POST";
  r.path = f[1];
  r.query = f[2];
  r.host_bucket = f[3];
  r.copy_source = f[4];
  r.body = in;

  static ResourceList list;
  absl::Status s = extract_resources(r, &list);
  if (!s.ok()) {
    if (!list.empty() || s.message().empty()) std::abort();
    return 0;
  }
  if (list.size() > ResourceList::kCountMax) std::abort();
  for (size_t i = 0; i < list.size(); ++i) {
    if (!list[i].starts_with("arn:")) std::abort();
  }
  std::vector<std::string> first = copy(list);
  ResourceList fresh;
  if (!extract_resources(r, &fresh).ok() || copy(fresh) != first) std::abort();
  return 0;
}
