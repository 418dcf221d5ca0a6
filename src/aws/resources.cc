// Resources from requests (see resources.h).

#include "pamproxy/aws/resources.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <type_traits>

#include "pamproxy/aws/rest_route.h"
#include "src/aws/query_string.h"
#include "src/aws/role_params.h"

namespace pamproxy::aws {

// ---------------------------------------------------------------- the list

void ResourceList::clear() {
  text_.clear();
  ends_.clear();
  open_ = 0;
  upload_id_.clear();
  passes_role_ = false;
}

std::string_view ResourceList::operator[](size_t i) const {
  const size_t begin = i == 0 ? 0 : ends_[i - 1];
  return std::string_view(text_).substr(begin, ends_[i] - begin);
}

void ResourceList::begin() {
  open_ = text_.size();
}

bool ResourceList::end() {
  const std::string_view arn = std::string_view(text_).substr(open_);
  if (arn.empty() || ends_.size() == kCountMax || text_.size() > kBytesMax) {
    text_.resize(open_);
    return arn.empty();
  }
  // A short list drops repeats (a copy onto itself, a table named twice in a batch); a long one
  // is a batch of keys, where checking each against all would cost more than it saves.
  for (size_t i = 0; i < std::min<size_t>(ends_.size(), kDedupFirst); ++i) {
    if ((*this)[i] == arn) {
      text_.resize(open_);
      return true;
    }
  }
  ends_.push_back(static_cast<uint32_t>(text_.size()));
  return true;
}

bool ResourceList::add(std::string_view arn) {
  begin();
  append(arn);
  return end();
}

namespace {

absl::Status field_error(std::string_view field, std::string_view why) {
  std::string message = "cannot tell what the request touches: ";
  message.append(field).append(" ").append(why);
  return absl::InvalidArgumentError(message);
}

absl::Status too_many(std::string_view field) {
  return field_error(field, "names more than " + std::to_string(ResourceList::kCountMax) +
                                " resources or more than " +
                                std::to_string(ResourceList::kBytesMax) + " bytes of them");
}

// Appends `in` with %XX decoded; with `form`, '+' is a space (application/x-www-form-urlencoded)
// and otherwise stays a '+' (a URI path, as S3 reads it). False on a '%' without two hex digits.
template <typename Out>
bool append_decoded(Out* out, std::string_view in, bool form) {
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = hex_digit(in[i + 1]);
      const int lo = hex_digit(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && form) {
      c = ' ';
    }
    if constexpr (std::is_same_v<Out, std::string>) {
      out->push_back(c);
    } else {
      out->append(c);
    }
  }
  return true;
}

// A value decoded out of the request, in storage the thread keeps from call to call.
bool decode_value(std::string_view in, bool form, std::string_view* out) {
  thread_local std::string scratch;
  scratch.clear();
  if (!append_decoded(&scratch, in, form)) return false;
  *out = scratch;
  return true;
}

// ---------------------------------------------------------------- ARN shapes

// How a service writes the ARN of a named thing: arn:PARTITION:SERVICE:REGION:ACCOUNT:PREFIX+name.
struct ArnShape {
  std::string_view service;
  bool regional;
  bool with_account;
  std::string_view prefix;
};

// Appends the ARN of `value` in `shape`; a value that is already an ARN is kept as it is.
void begin_arn(const ResourceRequest& r, const ArnShape& shape, ResourceList* out) {
  out->begin();
  out->append("arn:");
  out->append(partition_of(r.region));
  out->append(':');
  out->append(shape.service);
  out->append(':');
  if (shape.regional) out->append(r.region);
  out->append(':');
  if (shape.with_account) out->append(r.account);
  out->append(':');
  out->append(shape.prefix);
}

bool add_named(const ResourceRequest& r, const ArnShape& shape, std::string_view value,
               ResourceList* out) {
  if (value.starts_with("arn:")) return out->add(value);
  begin_arn(r, shape, out);
  out->append(value);
  return out->end();
}

// ---------------------------------------------------------------- S3

constexpr ArnShape kS3{"s3", false, false, ""};

// The <Key> values of a DeleteObjects body (<Delete><Object><Key>k</Key>...), entities decoded.
absl::Status s3_delete_keys(const ResourceRequest& r, std::string_view bucket, ResourceList* out) {
  std::string_view xml = r.body;
  size_t at = 0;
  while ((at = xml.find("<Key", at)) != std::string_view::npos) {
    at += 4;
    if (at < xml.size() && xml[at] != '>') {
      if (xml[at] == ' ' || xml[at] == '/' || xml[at] == '\t' || xml[at] == '\n') {
        return field_error("the DeleteObjects body", "has a <Key> element with attributes");
      }
      continue;  // another element whose name starts with "Key"
    }
    const size_t close = xml.find("</Key>", ++at);
    if (close == std::string_view::npos) {
      return field_error("the DeleteObjects body", "has a <Key> that is never closed");
    }
    const std::string_view text = xml.substr(at, close - at);
    if (text.find('<') != std::string_view::npos) {
      return field_error("the DeleteObjects body", "has markup inside a <Key>");
    }
    begin_arn(r, kS3, out);
    out->append(bucket);
    out->append('/');
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] != '&') {
        out->append(text[i]);
        continue;
      }
      const size_t semi = text.find(';', i);
      const std::string_view entity =
          semi == std::string_view::npos ? std::string_view() : text.substr(i + 1, semi - i - 1);
      uint32_t cp = 0;
      if (entity == "amp")
        cp = '&';
      else if (entity == "lt")
        cp = '<';
      else if (entity == "gt")
        cp = '>';
      else if (entity == "quot")
        cp = '"';
      else if (entity == "apos")
        cp = '\'';
      else if (entity.size() >= 2 && entity.size() <= 9 && entity[0] == '#') {
        const bool hex = entity[1] == 'x';
        for (char c : entity.substr(hex ? 2 : 1)) {
          const int d = hex ? hex_digit(c) : (c >= '0' && c <= '9' ? c - '0' : -1);
          if (d < 0) {
            cp = 0;
            break;
          }
          cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(d);
        }
        if (entity.size() == (hex ? 2u : 1u)) cp = 0;
      }
      if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return field_error("the DeleteObjects body", "has a <Key> with an unknown entity");
      }
      if (cp < 0x80) {
        out->append(static_cast<char>(cp));
      } else if (cp < 0x800) {
        out->append(static_cast<char>(0xC0 | (cp >> 6)));
        out->append(static_cast<char>(0x80 | (cp & 0x3F)));
      } else if (cp < 0x10000) {
        out->append(static_cast<char>(0xE0 | (cp >> 12)));
        out->append(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out->append(static_cast<char>(0x80 | (cp & 0x3F)));
      } else {
        out->append(static_cast<char>(0xF0 | (cp >> 18)));
        out->append(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out->append(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out->append(static_cast<char>(0x80 | (cp & 0x3F)));
      }
      i = semi;
    }
    if (!out->end()) return too_many("the DeleteObjects body");
    at = close + 6;
  }
  return absl::OkStatus();
}

// x-amz-copy-source: "bucket/key?versionId=v", percent-encoded, with or without a leading '/';
// or an access point ARN.
absl::Status s3_copy_source(const ResourceRequest& r, ResourceList* out) {
  std::string_view source = r.copy_source;
  source = source.substr(0, source.find('?'));
  if (source.starts_with('/')) source.remove_prefix(1);
  std::string_view decoded;
  if (!decode_value(source, false, &decoded) || decoded.find('/') == std::string_view::npos ||
      decoded.starts_with('/')) {
    return field_error("x-amz-copy-source", "is not bucket/key with valid percent-escapes");
  }
  return add_named(r, kS3, decoded, out) ? absl::OkStatus() : too_many("x-amz-copy-source");
}

// Whether the raw query has parameter `key`, and its raw value.
bool query_param(std::string_view query, std::string_view key, std::string_view* value) {
  FormPair pair;
  while (next_form_pair(&query, &pair)) {
    if (pair.name != key) continue;
    *value = pair.value;
    return true;
  }
  return false;
}

absl::Status s3_resources(const ResourceRequest& r, ResourceList* out) {
  std::string_view path = r.path;
  if (path.starts_with('/')) path.remove_prefix(1);
  std::string_view bucket = r.host_bucket;
  std::string_view key = path;
  if (bucket.empty()) {
    const size_t slash = path.find('/');
    bucket = path.substr(0, slash);
    key = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  }
  if (bucket.empty()) return absl::OkStatus();  // ListBuckets: the account, not a resource
  if (bucket.find('%') != std::string_view::npos) {
    return field_error("the bucket name", "has percent-escapes, which no bucket name needs");
  }
  begin_arn(r, kS3, out);
  out->append(bucket);
  if (!key.empty()) {
    out->append('/');
    if (!append_decoded(out, key, false)) {
      out->end();
      return field_error("the object key", "has a '%' that is not followed by two hex digits");
    }
  }
  if (!out->end()) return too_many("the object key");
  std::string_view upload_id;
  if (query_param(r.query, "uploadId", &upload_id)) {
    if (!decode_value(upload_id, true, &upload_id)) {
      return field_error("uploadId", "has a '%' that is not followed by two hex digits");
    }
    out->set_upload_id(upload_id);
  }
  if (!r.copy_source.empty()) {
    if (absl::Status s = s3_copy_source(r, out); !s.ok()) return s;
  }
  if (r.operation == "DeleteObjects") return s3_delete_keys(r, bucket, out);
  return absl::OkStatus();
}

// ---------------------------------------------------------------- named parameters

// A parameter (JSON member, query or form parameter) that names a resource.
struct Param {
  std::string_view service;  // signing name
  std::string_view name;     // member or parameter name; for EC2 also "Name.N"
  ArnShape shape;
  std::string_view only_in;  // when set: only operations whose name contains this
};

constexpr Param kParams[] = {
    {"dynamodb", "TableName", {"dynamodb", true, true, "table/"}, ""},
    {"kms", "KeyId", {"kms", true, true, "key/"}, ""},
    {"kms", "DestinationKeyId", {"kms", true, true, "key/"}, ""},
    {"kms", "TargetKeyId", {"kms", true, true, "key/"}, ""},
    {"kms", "AliasName", {"kms", true, true, ""}, ""},
    {"secretsmanager", "SecretId", {"secretsmanager", true, true, "secret:"}, ""},
    {"secretsmanager", "Name", {"secretsmanager", true, true, "secret:"}, ""},
    {"ssm", "Name", {"ssm", true, true, "parameter"}, "Parameter"},
    {"ssm", "Names", {"ssm", true, true, "parameter"}, "Parameter"},
    {"ssm", "Path", {"ssm", true, true, "parameter"}, "Parameter"},
    {"logs", "logGroupName", {"logs", true, true, "log-group:"}, ""},
    {"logs", "logGroupIdentifier", {"logs", true, true, "log-group:"}, ""},
    {"sqs", "QueueUrl", {"sqs", true, true, ""}, ""},
    {"sqs", "QueueName", {"sqs", true, true, ""}, ""},
    {"sns", "TopicArn", {"sns", true, true, ""}, ""},
    {"sns", "Name", {"sns", true, true, ""}, "CreateTopic"},
    {"ecr", "repositoryName", {"ecr", true, true, "repository/"}, ""},
    {"iam", "UserName", {"iam", false, true, "user/"}, ""},
    {"iam", "RoleName", {"iam", false, true, "role/"}, ""},
    {"iam", "GroupName", {"iam", false, true, "group/"}, ""},
    {"iam", "InstanceProfileName", {"iam", false, true, "instance-profile/"}, ""},
    {"iam", "PolicyArn", {"iam", false, true, ""}, ""},
    {"sts", "RoleArn", {"iam", false, true, ""}, ""},
    {"ec2", "InstanceId", {"ec2", true, true, "instance/"}, ""},
    {"ec2", "VolumeId", {"ec2", true, true, "volume/"}, ""},
    {"ec2", "SnapshotId", {"ec2", true, true, "snapshot/"}, ""},
    {"ec2", "ImageId", {"ec2", true, false, "image/"}, ""},
    {"ec2", "GroupId", {"ec2", true, true, "security-group/"}, ""},
    {"ec2", "VpcId", {"ec2", true, true, "vpc/"}, ""},
    {"ec2", "SubnetId", {"ec2", true, true, "subnet/"}, ""},
    {"ec2", "KeyName", {"ec2", true, true, "key-pair/"}, ""},
};

// Whether `name` is `param` or, for EC2's lists, "param.N".
bool names_param(std::string_view name, std::string_view param, bool ec2) {
  if (!name.starts_with(param)) return false;
  if (name.size() == param.size()) return true;
  if (!ec2 || name[param.size()] != '.' || name.size() == param.size() + 1) return false;
  return std::all_of(name.begin() + static_cast<ptrdiff_t>(param.size()) + 1, name.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

const Param* find_param(const ResourceRequest& r, std::string_view name) {
  const bool ec2 = r.protocol == Protocol::kEc2;
  for (const Param& p : kParams) {
    if (p.service == r.service && names_param(name, p.name, ec2) &&
        (p.only_in.empty() || r.operation.find(p.only_in) != std::string_view::npos)) {
      return &p;
    }
  }
  return nullptr;
}

// Whether a parameter of any service carries an ARN by its name ("ResourceArn", "TargetARN").
bool arn_by_name(std::string_view name) {
  return name.ends_with("Arn") || name.ends_with("ARN") || name.ends_with("arn");
}

// Secrets Manager ends a secret's ARN with '-' and six random letters or digits that a client
// naming the secret never sees: "secret:prod/db-AbCdEf" is the secret "prod/db". A secret named
// by its ARN is written without them, as one named by its name is, so that a rule naming
// "secret:prod/db" cannot be passed by giving the full ARN. Secrets Manager itself reads an ARN
// that ends so as a complete one.
std::string_view secret_without_suffix(std::string_view arn) {
  constexpr std::string_view kSecret = ":secret:";
  constexpr size_t kSuffix = 7;  // "-AbCdEf"
  const size_t name = arn.find(kSecret);
  if (name == std::string_view::npos || arn.size() <= name + kSecret.size() + kSuffix) return arn;
  const std::string_view suffix = arn.substr(arn.size() - kSuffix);
  const bool random =
      suffix[0] == '-' && std::all_of(suffix.begin() + 1, suffix.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      });
  return random ? arn.substr(0, arn.size() - kSuffix) : arn;
}

// Adds the resource `value` names as parameter `p` (already decoded).
bool add_param_value(const ResourceRequest& r, const Param& p, std::string_view value,
                     ResourceList* out) {
  if (value.empty()) return true;
  if (value.starts_with("arn:")) {
    return out->add(p.service == "secretsmanager" ? secret_without_suffix(value) : value);
  }
  if (p.service == "sqs" && p.name == "QueueUrl") {
    // https://sqs.REGION.amazonaws.com/ACCOUNT/NAME: the URL carries its own account.
    const size_t scheme = value.find("://");
    std::string_view rest = scheme == std::string_view::npos ? value : value.substr(scheme + 3);
    rest = rest.substr(std::min(rest.size(), rest.find('/')));
    if (rest.starts_with('/')) rest.remove_prefix(1);
    const size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return add_named(r, p.shape, rest, out);
    ResourceRequest with_account = r;
    with_account.account = rest.substr(0, slash);
    return add_named(with_account, p.shape, rest.substr(slash + 1), out);
  }
  if (p.service == "kms" && p.shape.prefix == "key/" && value.starts_with("alias/")) {
    return add_named(r, {"kms", true, true, ""}, value, out);
  }
  if (p.service == "ssm" && !value.starts_with('/')) {
    begin_arn(r, p.shape, out);
    out->append('/');
    out->append(value);
    return out->end();
  }
  return add_named(r, p.shape, value, out);
}

// ---------------------------------------------------------------- roles handed to a service

// The calls that take a role for the service to act as: whoever makes one with a role of more
// power than their own gains that power (IAM's iam:PassRole check exists for this).
struct RolePassing {
  std::string_view service;  // signing name
  std::string_view operation;
};

constexpr RolePassing kRolePassing[] = {
    {"lambda", "CreateFunction"},
    {"lambda", "UpdateFunctionConfiguration"},
    {"ec2", "RunInstances"},
    {"ec2", "AssociateIamInstanceProfile"},
    {"ec2", "ReplaceIamInstanceProfileAssociation"},
    {"ecs", "RegisterTaskDefinition"},
    {"ecs", "RunTask"},
    {"ecs", "StartTask"},
};

// ---------------------------------------------------------------- query and EC2 parameters

// The parameters of the query string and of a form body, in that order. A resource parameter
// given twice is refused: which of the two AWS acts on is not something to guess.
absl::Status form_resources(const ResourceRequest& r, ResourceList* out) {
  std::array<std::string_view, 2> sources{r.query, r.body};
  std::array<std::string_view, 64> seen{};
  size_t seen_count = 0;
  const bool role_call = may_pass_role(r.service, r.operation);
  for (std::string_view form : sources) {
    FormPair pair;
    while (next_form_pair(&form, &pair)) {
      const std::string_view name = pair.name;
      if (role_call && carries_role(r.service, name)) out->set_passes_role();
      const Param* p = find_param(r, name);
      const bool by_name = p == nullptr && arn_by_name(name);
      if (p == nullptr && !by_name) continue;
      for (size_t i = 0; i < seen_count; ++i) {
        if (seen[i] == name) return field_error(name, "is given twice");
      }
      if (seen_count == seen.size()) return too_many(name);
      seen[seen_count++] = name;
      std::string_view v;
      if (!decode_value(pair.value, true, &v)) {
        return field_error(name, "has a '%' that is not followed by two hex digits");
      }
      if (by_name) {
        if (v.starts_with("arn:") && !out->add(v)) return too_many(name);
        continue;
      }
      if (!add_param_value(r, *p, v, out)) return too_many(name);
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- JSON bodies

simdjson::dom::parser& json_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

absl::Status json_member(const ResourceRequest& r, std::string_view name,
                         simdjson::dom::element value, ResourceList* out);

// DynamoDB's batch and transaction calls name their tables inside: RequestItems' keys, and
// TransactItems[].{Put,Update,Delete,ConditionCheck,Get}.TableName.
absl::Status dynamodb_nested(const ResourceRequest& r, std::string_view name,
                             simdjson::dom::element value, ResourceList* out) {
  static constexpr ArnShape kTable{"dynamodb", true, true, "table/"};
  if (name == "RequestItems") {
    simdjson::dom::object items;
    if (value.get_object().get(items) != simdjson::SUCCESS) {
      return field_error("RequestItems", "is not an object");
    }
    for (auto [table, unused] : items) {
      if (!add_named(r, kTable, table, out)) return too_many("RequestItems");
    }
  } else if (name == "TransactItems") {
    simdjson::dom::array list;
    if (value.get_array().get(list) != simdjson::SUCCESS) {
      return field_error("TransactItems", "is not a list");
    }
    for (simdjson::dom::element item : list) {
      simdjson::dom::object actions;
      if (item.get_object().get(actions) != simdjson::SUCCESS) {
        return field_error("TransactItems", "holds an item that is not an object");
      }
      for (auto [action, body] : actions) {
        simdjson::dom::object fields;
        if (body.get_object().get(fields) != simdjson::SUCCESS) continue;
        for (auto [field, v] : fields) {
          if (field != "TableName") continue;
          if (absl::Status s = json_member(r, field, v, out); !s.ok()) return s;
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::Status json_member(const ResourceRequest& r, std::string_view name,
                         simdjson::dom::element value, ResourceList* out) {
  if (r.service == "dynamodb" && (name == "RequestItems" || name == "TransactItems")) {
    return dynamodb_nested(r, name, value, out);
  }
  const Param* p = find_param(r, name);
  if (p == nullptr && !arn_by_name(name)) return absl::OkStatus();
  std::string_view text;
  simdjson::dom::array list;
  if (value.get_string().get(text) == simdjson::SUCCESS) {
    if (p == nullptr)
      return text.starts_with("arn:") && !out->add(text) ? too_many(name) : absl::OkStatus();
    return add_param_value(r, *p, text, out) ? absl::OkStatus() : too_many(name);
  }
  if (value.get_array().get(list) == simdjson::SUCCESS) {
    for (simdjson::dom::element e : list) {
      if (e.get_string().get(text) != simdjson::SUCCESS) {
        return field_error(name, "is a list of something other than strings");
      }
      if (p == nullptr ? text.starts_with("arn:") && !out->add(text)
                       : !add_param_value(r, *p, text, out)) {
        return too_many(name);
      }
    }
    return absl::OkStatus();
  }
  if (p != nullptr) return field_error(name, "is neither a string nor a list of strings");
  return absl::OkStatus();
}

absl::Status json_resources(const ResourceRequest& r, ResourceList* out) {
  if (r.body.empty()) return absl::OkStatus();
  simdjson::dom::element doc;
  if (json_parser().parse(r.body.data(), r.body.size()).get(doc) != simdjson::SUCCESS) {
    return field_error("the request body", "is not JSON");
  }
  simdjson::dom::object members;
  if (doc.get_object().get(members) != simdjson::SUCCESS) {
    return field_error("the request body", "is not a JSON object");
  }
  std::array<std::string_view, 64> seen{};
  size_t seen_count = 0;
  const bool role_call = may_pass_role(r.service, r.operation);
  for (auto [name, value] : members) {
    if (role_call) {
      for_each_role_value(r.service, name, value,
                          [out](simdjson::dom::element) { out->set_passes_role(); });
    }
    const bool resource =
        find_param(r, name) != nullptr || arn_by_name(name) ||
        (r.service == "dynamodb" && (name == "RequestItems" || name == "TransactItems"));
    if (!resource) continue;
    for (size_t i = 0; i < seen_count; ++i) {
      if (seen[i] == name) return field_error(name, "is given twice in the JSON body");
    }
    if (seen_count == seen.size()) return too_many(name);
    seen[seen_count++] = name;
    if (absl::Status s = json_member(r, name, value, out); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- REST paths

// The labels of the request's REST route (rest_route.h) that name a resource.
struct RestLabelShape {
  std::string_view service;  // signing name
  std::string_view label;    // as the model names it
  std::string_view under;    // only in paths holding this segment ("/hostedzone/"); "" = any
  ArnShape shape;
};

constexpr RestLabelShape kRestLabels[] = {
    {"lambda", "FunctionName", "", {"lambda", true, true, "function:"}},
    {"lambda", "LayerName", "", {"lambda", true, true, "layer:"}},
    {"route53", "Id", "/hostedzone/", {"route53", false, false, "hostedzone/"}},
    {"route53", "HostedZoneId", "", {"route53", false, false, "hostedzone/"}},
    {"eks", "name", "/clusters/", {"eks", true, true, "cluster/"}},
    {"eks", "clusterName", "", {"eks", true, true, "cluster/"}},
};

absl::Status rest_resources(const ResourceRequest& r, ResourceList* out) {
  std::optional<RestMatch> route = match_rest_route(r.service, r.method, r.path, r.query);
  if (!route) return absl::OkStatus();
  for (const RestLabelShape& l : kRestLabels) {
    if (l.service != r.service) continue;
    const std::string_view raw = route->label(l.label);
    if (raw.empty() || (!l.under.empty() && r.path.find(l.under) == std::string_view::npos)) {
      continue;
    }
    std::string_view name;
    if (!decode_value(raw, false, &name)) {
      return field_error(l.label, "has a '%' that is not followed by two hex digits");
    }
    // Lambda takes "f1", "f1:prod", "123456789012:function:f1" and the whole ARN.
    if (r.service == "lambda" && !name.starts_with("arn:") &&
        name.find(":function:") != std::string_view::npos) {
      out->begin();
      out->append("arn:");
      out->append(partition_of(r.region));
      out->append(":lambda:");
      out->append(r.region);
      out->append(':');
      out->append(name);
      if (!out->end()) return too_many(l.label);
      continue;
    }
    if (!add_named(r, l.shape, name, out)) return too_many(l.label);
  }
  return absl::OkStatus();
}

}  // namespace

bool may_pass_role(std::string_view service, std::string_view operation) {
  for (const RolePassing& p : kRolePassing) {
    if (p.service == service && p.operation == operation) return true;
  }
  return false;
}

std::string_view partition_of(std::string_view region) {
  if (region.starts_with("cn-")) return "aws-cn";
  if (region.starts_with("us-gov-")) return "aws-us-gov";
  return "aws";
}

absl::Status extract_resources(const ResourceRequest& r, ResourceList* out) {
  out->clear();
  absl::Status s;
  switch (r.protocol) {
    case Protocol::kS3: s = s3_resources(r, out); break;
    case Protocol::kQuery:
    case Protocol::kEc2: s = form_resources(r, out); break;
    case Protocol::kJson: s = json_resources(r, out); break;
    case Protocol::kRestJson:
    case Protocol::kRestXml: {
      s = rest_resources(r, out);
      // A role-passing call's body is read whatever it starts with: a body that is not JSON is
      // refused rather than let through unread.
      if (s.ok() && (r.body.starts_with('{') || may_pass_role(r.service, r.operation))) {
        s = json_resources(r, out);
      }
      break;
    }
    case Protocol::kRpcV2Cbor: break;
  }
  if (!s.ok()) out->clear();
  return s;
}

}  // namespace pamproxy::aws
