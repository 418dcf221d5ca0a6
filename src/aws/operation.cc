#include "pamproxy/aws/operation.h"

#include <algorithm>

#include "pamproxy/aws/rest_route.h"
#include "src/aws/query_string.h"

namespace pamproxy::aws {
namespace {

struct SubResource {
  std::string_view param;
  std::string_view get;
  std::string_view put;
  std::string_view del;
};

// Bucket sub-resources: ?acl, ?cors, ... For the configurations that have ids (?analytics&id=),
// the GET without an id is the List form.
constexpr SubResource kBucketSubresources[] = {
    {"acl", "GetBucketAcl", "PutBucketAcl", ""},
    {"accelerate", "GetBucketAccelerateConfiguration", "PutBucketAccelerateConfiguration", ""},
    {"analytics", "GetBucketAnalyticsConfiguration", "PutBucketAnalyticsConfiguration",
     "DeleteBucketAnalyticsConfiguration"},
    {"cors", "GetBucketCors", "PutBucketCors", "DeleteBucketCors"},
    {"encryption", "GetBucketEncryption", "PutBucketEncryption", "DeleteBucketEncryption"},
    {"intelligent-tiering", "GetBucketIntelligentTieringConfiguration",
     "PutBucketIntelligentTieringConfiguration", "DeleteBucketIntelligentTieringConfiguration"},
    {"inventory", "GetBucketInventoryConfiguration", "PutBucketInventoryConfiguration",
     "DeleteBucketInventoryConfiguration"},
    {"lifecycle", "GetBucketLifecycleConfiguration", "PutBucketLifecycleConfiguration",
     "DeleteBucketLifecycle"},
    {"location", "GetBucketLocation", "", ""},
    {"logging", "GetBucketLogging", "PutBucketLogging", ""},
    {"metrics", "GetBucketMetricsConfiguration", "PutBucketMetricsConfiguration",
     "DeleteBucketMetricsConfiguration"},
    {"notification", "GetBucketNotificationConfiguration", "PutBucketNotificationConfiguration",
     ""},
    {"object-lock", "GetObjectLockConfiguration", "PutObjectLockConfiguration", ""},
    {"ownershipControls", "GetBucketOwnershipControls", "PutBucketOwnershipControls",
     "DeleteBucketOwnershipControls"},
    {"policy", "GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"},
    {"policyStatus", "GetBucketPolicyStatus", "", ""},
    {"publicAccessBlock", "GetPublicAccessBlock", "PutPublicAccessBlock",
     "DeletePublicAccessBlock"},
    {"replication", "GetBucketReplication", "PutBucketReplication", "DeleteBucketReplication"},
    {"requestPayment", "GetBucketRequestPayment", "PutBucketRequestPayment", ""},
    {"tagging", "GetBucketTagging", "PutBucketTagging", "DeleteBucketTagging"},
    {"versioning", "GetBucketVersioning", "PutBucketVersioning", ""},
    {"website", "GetBucketWebsite", "PutBucketWebsite", "DeleteBucketWebsite"},
};

constexpr SubResource kObjectSubresources[] = {
    {"acl", "GetObjectAcl", "PutObjectAcl", ""},
    {"attributes", "GetObjectAttributes", "", ""},
    {"legal-hold", "GetObjectLegalHold", "PutObjectLegalHold", ""},
    {"retention", "GetObjectRetention", "PutObjectRetention", ""},
    {"tagging", "GetObjectTagging", "PutObjectTagging", "DeleteObjectTagging"},
    {"torrent", "GetObjectTorrent", "", ""},
};

std::string_view s3_bucket_operation(std::string_view method, std::string_view query) {
  for (const SubResource& s : kBucketSubresources) {
    if (!has_param(query, s.param)) continue;
    std::string_view name = method == "GET" ? s.get : method == "PUT" ? s.put
                          : method == "DELETE" ? s.del : std::string_view();
    if (name.empty()) continue;
    bool listable = s.param == "analytics" || s.param == "inventory" || s.param == "metrics" ||
                    s.param == "intelligent-tiering";
    if (method == "GET" && listable && !has_param(query, "id")) {
      if (s.param == "analytics") return "ListBucketAnalyticsConfigurations";
      if (s.param == "inventory") return "ListBucketInventoryConfigurations";
      if (s.param == "metrics") return "ListBucketMetricsConfigurations";
      return "ListBucketIntelligentTieringConfigurations";
    }
    return name;
  }
  if (method == "GET") {
    if (has_param(query, "uploads")) return "ListMultipartUploads";
    if (has_param(query, "versions")) return "ListObjectVersions";
    if (param_equals(query, "list-type", "2")) return "ListObjectsV2";
    return "ListObjects";
  }
  if (method == "HEAD") return "HeadBucket";
  if (method == "PUT") return "CreateBucket";
  if (method == "DELETE") return "DeleteBucket";
  if (method == "POST") {
    if (has_param(query, "delete")) return "DeleteObjects";
    return "PostObject";  // browser-based upload form
  }
  return {};
}

std::string_view s3_object_operation(std::string_view method, std::string_view query,
                                     bool copy_source) {
  bool upload_id = has_param(query, "uploadId");
  if (method == "PUT" && upload_id && has_param(query, "partNumber")) {
    return copy_source ? "UploadPartCopy" : "UploadPart";
  }
  for (const SubResource& s : kObjectSubresources) {
    if (!has_param(query, s.param)) continue;
    std::string_view name = method == "GET" ? s.get : method == "PUT" ? s.put
                          : method == "DELETE" ? s.del : std::string_view();
    if (!name.empty()) return name;
  }
  if (method == "GET") return upload_id ? "ListParts" : "GetObject";
  if (method == "HEAD") return "HeadObject";
  if (method == "PUT") return copy_source ? "CopyObject" : "PutObject";
  if (method == "DELETE") return upload_id ? "AbortMultipartUpload" : "DeleteObject";
  if (method == "POST") {
    if (has_param(query, "uploads")) return "CreateMultipartUpload";
    if (upload_id) return "CompleteMultipartUpload";
    if (has_param(query, "restore")) return "RestoreObject";
    if (has_param(query, "select")) return "SelectObjectContent";
  }
  return {};
}

// Splits an S3 path into bucket and key presence. Path-style "/bucket/key..." unless the host
// named the bucket.
void s3_path(std::string_view path, std::string_view host_bucket, bool* has_bucket,
             bool* has_key) {
  std::string_view p = path;
  if (!p.empty() && p.front() == '/') p.remove_prefix(1);
  if (!host_bucket.empty()) {
    *has_bucket = true;
    *has_key = !p.empty();
    return;
  }
  size_t slash = p.find('/');
  *has_bucket = !p.empty() && slash != 0;
  *has_key = slash != std::string_view::npos && slash + 1 < p.size();
}

bool is_form(std::string_view content_type) {
  return content_type.substr(0, 33) == "application/x-www-form-urlencoded";
}

}  // namespace

std::string_view protocol_name(Protocol p) {
  switch (p) {
    case Protocol::kS3: return "rest-xml-s3";
    case Protocol::kRestXml: return "rest-xml";
    case Protocol::kQuery: return "query";
    case Protocol::kEc2: return "ec2";
    case Protocol::kJson: return "json";
    case Protocol::kRestJson: return "rest-json";
    case Protocol::kRpcV2Cbor: return "rpc-v2-cbor";
  }
  return "unknown";
}

bool is_read_only_name(std::string_view name) {
  for (std::string_view prefix : {"Get", "List", "Describe", "Head", "BatchGet", "Query", "Scan",
                                  "Search", "Lookup", "Select", "Check", "Validate"}) {
    if (name.size() > prefix.size() && name.substr(0, prefix.size()) == prefix) {
      char next = name[prefix.size()];
      if (next >= 'A' && next <= 'Z') return true;
    }
  }
  if (name.substr(0, 4) == "GET " || name.substr(0, 5) == "HEAD ") return true;
  return name == "Query" || name == "Scan";
}

void Operation::set(Protocol protocol, std::string_view name) {
  protocol_ = protocol;
  if (name.empty()) name = "Unknown";
  name_len_ = static_cast<uint8_t>(std::min(name.size(), kNameBytesMax));
  std::copy_n(name.data(), name_len_, name_.data());
  read_only_ = is_read_only_name(name);
}

void Operation::set_rest(Protocol protocol, std::string_view method, std::string_view path) {
  std::array<char, kNameBytesMax> buf;
  size_t n = std::min(method.size(), kNameBytesMax - 1);
  std::copy_n(method.data(), n, buf.data());
  buf[n++] = ' ';
  size_t m = std::min(path.size(), kNameBytesMax - n);
  std::copy_n(path.data(), m, buf.data() + n);
  set(protocol, std::string_view(buf.data(), n + m));
}

Operation classify(const RequestFacts& r) {
  Operation op;
  // rpc-v2-cbor: the path names service and operation.
  if (r.smithy_protocol == "rpc-v2-cbor") {
    size_t at = r.path.rfind("/operation/");
    op.set(Protocol::kRpcV2Cbor,
           at == std::string_view::npos ? std::string_view() : r.path.substr(at + 11));
    return op;
  }
  // JSON protocols name the operation in X-Amz-Target: "Service_Version.Operation".
  if (!r.amz_target.empty()) {
    size_t dot = r.amz_target.rfind('.');
    op.set(Protocol::kJson,
           dot == std::string_view::npos ? r.amz_target : r.amz_target.substr(dot + 1));
    return op;
  }
  if (r.service == "s3" || r.service == "s3-object-lambda") {
    bool has_bucket = false;
    bool has_key = false;
    s3_path(r.path, r.host_bucket, &has_bucket, &has_key);
    if (r.path.substr(0, 11) == "/v20180820/") {  // S3 Control
      if (auto route = match_rest_route(r.service, r.method, r.path, r.query)) {
        op.set(route->protocol, route->operation);
      } else {
        op.set_rest(Protocol::kRestXml, r.method, r.path);
      }
      return op;
    }
    std::string_view name;
    if (!has_bucket) {
      name = r.method == "GET" ? "ListBuckets" : "";
    } else if (!has_key) {
      name = s3_bucket_operation(r.method, r.query);
    } else {
      name = s3_object_operation(r.method, r.query, r.has_copy_source);
    }
    if (name.empty()) {
      op.set_rest(Protocol::kS3, r.method, r.path);
    } else {
      op.set(Protocol::kS3, name);
    }
    return op;
  }
  // Query and EC2 protocols: Action in the query string or the form body.
  std::array<char, 128> action;
  size_t n = 0;
  bool found = form_value(r.query, "Action", &action, &n);
  if (!found && is_form(r.content_type)) found = form_value(r.form_body, "Action", &action, &n);
  if (found) {
    op.set(r.service == "ec2" ? Protocol::kEc2 : Protocol::kQuery, std::string_view(action.data(), n));
    return op;
  }
  if (r.service == "ec2") {
    op.set_rest(Protocol::kEc2, r.method, r.path);
    return op;
  }
  // REST protocols: the route of the models the method, path and query fit.
  if (auto route = match_rest_route(r.service, r.method, r.path, r.query)) {
    op.set(route->protocol, route->operation);
    return op;
  }
  bool rest_xml = r.service == "route53" || r.service == "cloudfront";
  if (is_form(r.content_type) || r.service == "sts" || r.service == "iam" || r.service == "sns") {
    op.set_rest(Protocol::kQuery, r.method, r.path);
    return op;
  }
  op.set_rest(rest_xml ? Protocol::kRestXml : Protocol::kRestJson, r.method, r.path);
  return op;
}

}  // namespace pamproxy::aws
