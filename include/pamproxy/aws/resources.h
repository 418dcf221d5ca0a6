#pragma once
// What a request touches, written as ARNs where AWS defines one: the audit trail names them and
// resource-scoped command rules match them.
//
//   s3      PUT /billing/2026/11/report.csv          -> arn:aws:s3:::billing/2026/11/report.csv
//           x-amz-copy-source: src/a.txt             -> arn:aws:s3:::src/a.txt (first)
//           POST /billing?delete  <Key>a</Key>...    -> arn:aws:s3:::billing/a, ...
//   json    DynamoDB {"TableName":"payments"}        ->
//   arn:aws:dynamodb:us-east-1:ACCOUNT:table/payments query   IAM RoleName=deploy ->
//   arn:aws:iam::ACCOUNT:role/deploy ec2     InstanceId.1=i-0abc                      ->
//   arn:aws:ec2:us-east-1:ACCOUNT:instance/i-0abc rest    Lambda GET /2015-03-31/functions/f1 ->
//   arn:aws:lambda:us-east-1:ACCOUNT:function:f1
//
// Values are read as AWS reads them: S3 keys percent-decoded once from the path as sent (a '+'
// stays a '+'), query and form values form-decoded, JSON strings unescaped, XML keys with their
// entities decoded. A value that is already an ARN is kept as it is, but for the random suffix of a
// Secrets Manager secret's ("secret:prod/db-AbCdEf" is written "secret:prod/db", as the name
// "prod/db" is). A request that names its resource ambiguously (a JSON member or a form parameter
// given twice, a body that is not what its protocol says) is refused with a message naming the
// field: a wrong resource in the audit trail or a rule that looks at the wrong one is worse than a
// refusal.
//
// ACCOUNT is the record's AWS account id; when it is not known the field is left empty
// ("arn:aws:dynamodb:us-east-1::table/payments"), which a rule's '*' still matches.
//
// Whether the request hands a role to a service (what IAM checks as iam:PassRole) is read from the
// same body: Lambda's CreateFunction and UpdateFunctionConfiguration with `Role`, EC2's
// RunInstances, AssociateIamInstanceProfile and ReplaceIamInstanceProfileAssociation with
// `IamInstanceProfile.Arn` or `.Name`, ECS's RegisterTaskDefinition, RunTask and StartTask with
// `taskRoleArn` or `executionRoleArn` (also inside `overrides`). A policy guardrail acts on it.
//
// Pure: no I/O. The list keeps its storage from request to request, so after the first requests
// extracting allocates nothing.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "pamproxy/aws/operation.h"

namespace pamproxy::aws {

class ResourceList {
 public:
  // S3's DeleteObjects takes at most 1,000 keys of at most 1,024 bytes each, besides its bucket;
  // nothing else names as many.
  static constexpr size_t kCountMax = 1001;
  static constexpr size_t kBytesMax = 1200 * 1024;
  // end() drops an ARN equal to one of the first kDedupFirst listed.
  static constexpr size_t kDedupFirst = 16;

  void clear();
  size_t size() const { return ends_.size(); }
  bool empty() const { return ends_.empty(); }
  std::string_view operator[](size_t i) const;

  // The ARNs back to back, and where each ends (for policy::ResourceView).
  std::string_view text() const { return text_; }
  std::span<const uint32_t> ends() const { return ends_; }

  // The upload id of an S3 multipart call (?uploadId=), decoded; empty otherwise.
  std::string_view upload_id() const { return upload_id_; }
  // Whether the request hands a role to the service it calls (see above).
  bool passes_role() const { return passes_role_; }

  // Building one ARN from pieces: begin(), append()..., end(). end() drops a repeat (see
  // kDedupFirst) and an empty ARN. False when a bound above would be passed (nothing is added).
  void begin();
  void append(std::string_view piece) { text_.append(piece); }
  void append(char c) { text_.push_back(c); }
  bool end();
  bool add(std::string_view arn);
  void set_upload_id(std::string_view id) { upload_id_.assign(id); }
  void set_passes_role() { passes_role_ = true; }

 private:
  std::string text_;
  std::vector<uint32_t> ends_;
  size_t open_ = 0;
  std::string upload_id_;
  bool passes_role_ = false;
};

// What the extractor reads from a request. Views into it; empty when absent.
struct ResourceRequest {
  std::string_view service;    // signing name from the credential scope: "s3", "dynamodb"
  std::string_view region;     // from the credential scope: "us-east-1"
  std::string_view account;    // the record's AWS account id (12 digits), or empty
  std::string_view operation;  // Operation::name(): "PutObject", "DeleteObjects"
  Protocol protocol = Protocol::kRestJson;
  std::string_view method;       // "GET"
  std::string_view path;         // raw path as sent, without the query
  std::string_view query;        // raw query without '?'
  std::string_view host_bucket;  // bucket of a virtual-hosted S3 host name
  std::string_view copy_source;  // x-amz-copy-source
  // The body when the proxy holds it whole (JSON, form and EC2 bodies, S3's DeleteObjects XML);
  // empty when it streams. A body the extractor needs and does not have adds nothing.
  std::string_view body;
};

// Appends the ARNs `request` touches to `out` (cleared first). An error names the field that
// could not be read; `out` then holds nothing.
absl::Status extract_resources(const ResourceRequest& request, ResourceList* out);

// Whether `operation` of `service` (signing name) can hand a role to the service, by one of the
// parameters above: the proxy must then hold the request's body to tell.
bool may_pass_role(std::string_view service, std::string_view operation);

// "aws", "aws-cn" or "aws-us-gov", from the region.
std::string_view partition_of(std::string_view region);

}  // namespace pamproxy::aws
