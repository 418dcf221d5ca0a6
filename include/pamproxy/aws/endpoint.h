#pragma once
// What an AWS host name says about the request sent to it: the service's endpoint prefix, the
// region, and for S3 the bucket of a virtual-hosted name. The proxy compares this with the
// credential scope the client signed (service and region), so that a signature made for one
// service or region is never carried to another through the appliance.
//
// Pure: no DNS, no I/O. Host names are compared case-insensitively; a trailing dot is ignored.
//
//   sts.amazonaws.com                      -> service sts, global (signs in us-east-1)
//   ec2.eu-west-1.amazonaws.com            -> service ec2, region eu-west-1
//   dynamodb-fips.us-east-1.amazonaws.com  -> service dynamodb (FIPS), region us-east-1
//   photos.s3.us-west-2.amazonaws.com      -> service s3, region us-west-2, bucket photos
//   s3.dualstack.eu-west-1.amazonaws.com   -> service s3, region eu-west-1 (dual-stack)
//   ec2.us-east-1.api.aws                  -> service ec2, region us-east-1 (dual-stack)

#include <optional>
#include <string>
#include <string_view>

namespace pamproxy::aws {

struct Endpoint {
  std::string service;  // endpoint prefix as in the host ("s3", "sts", "runtime.sagemaker")
  std::string region;   // the region to sign for; for a global endpoint its partition's home
                        // region (us-east-1, cn-north-1, us-gov-west-1)
  std::string bucket;   // S3 virtual-hosted bucket, else ""
  bool global = false;  // iam.amazonaws.com, sts.amazonaws.com, s3.amazonaws.com, ...
  bool fips = false;
  bool dualstack = false;
};

// Parses a host (without port) under amazonaws.com, amazonaws.com.cn or api.aws. Returns nullopt
// for any other name (custom endpoints: no inference is made for them).
std::optional<Endpoint> parse_endpoint(std::string_view host);

// The signing name a service's endpoint prefix signs with, where the two differ
// ("email" -> "ses", "runtime.sagemaker" -> "sagemaker", "streams.dynamodb" -> "dynamodb", ...).
std::string_view signing_name_for(std::string_view endpoint_prefix);

// Whether a request signed with credential scope (service, region) belongs at `endpoint`.
// Returns "" when consistent, else a reason a user can act on.
std::string check_scope(const Endpoint& endpoint, std::string_view scope_service,
                        std::string_view scope_region);

}  // namespace pamproxy::aws
