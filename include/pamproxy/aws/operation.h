#pragma once
// Naming the AWS operation a request calls, for access rules ("s3:GetObject") and the audit
// trail (CloudTrail's eventName), and knowing which wire protocol it speaks so a denial can be
// answered in a form the client's SDK parses.
//
//   JSON protocols       X-Amz-Target: DynamoDB_20120810.ListTables      -> ListTables
//   query / EC2          Action=DescribeRegions (query string or form body) -> DescribeRegions
//   S3 (REST-XML)        method + bucket/key + sub-resource (the full table in operation.cc)
//   rpc-v2-cbor          POST /service/GraphService/operation/GetGraph   -> GetGraph
//   REST-JSON, REST-XML  DELETE /2015-03-31/functions/my-fn              -> DeleteFunction
//                        (the routes of AWS's service models: rest_route.h; S3 Control too)
//   no route fits        "GET /2015-03-31/nothing"                       (method and raw path)
//
// Pure and allocation-free: the name lives inline in the result. Input views are not retained.

#include <array>
#include <cstdint>
#include <string_view>

namespace pamproxy::aws {

enum class Protocol : uint8_t {
  kS3,         // REST-XML with S3's <Error> shape
  kRestXml,    // other REST-XML services (route53, cloudfront): <ErrorResponse>
  kQuery,      // awsQuery (sts, iam, sns, ...): <ErrorResponse>
  kEc2,        // ec2Query: <Response><Errors>
  kJson,       // awsJson 1.0/1.1 (X-Amz-Target): {"__type": ...}
  kRestJson,   // restJson1 (lambda, ...): {"message"} + x-amzn-ErrorType
  kRpcV2Cbor,  // smithy rpc-v2-cbor
};

std::string_view protocol_name(Protocol p);

// What the classifier reads from a request. Views into the request; empty when absent.
struct RequestFacts {
  std::string_view service;          // signing name from the credential scope: "s3", "sts"
  std::string_view method;           // "GET"
  std::string_view path;             // raw path as sent, without the query
  std::string_view query;            // raw query without '?'
  std::string_view host_bucket;      // bucket of a virtual-hosted S3 host name
  std::string_view amz_target;       // X-Amz-Target
  std::string_view content_type;     // Content-Type
  std::string_view smithy_protocol;  // smithy-protocol
  bool has_copy_source = false;      // x-amz-copy-source present
  std::string_view form_body;        // an urlencoded body the proxy buffered, if any
};

class Operation {
 public:
  static constexpr size_t kNameBytesMax = 127;

  Protocol protocol() const { return protocol_; }
  // "ListTables"; "GET /path" for a REST request no route of the models fits. Never empty.
  std::string_view name() const { return {name_.data(), name_len_}; }
  // CloudTrail's readOnly: the call does not change anything (Get*, List*, Describe*, Head*...).
  bool read_only() const { return read_only_; }

  void set(Protocol protocol, std::string_view name);
  void set_rest(Protocol protocol, std::string_view method, std::string_view path);

 private:
  Protocol protocol_ = Protocol::kRestJson;
  bool read_only_ = false;
  uint8_t name_len_ = 0;
  std::array<char, kNameBytesMax> name_{};
};

Operation classify(const RequestFacts& request);

// Whether an operation name reads only (by AWS's naming conventions).
bool is_read_only_name(std::string_view name);

}  // namespace pamproxy::aws
